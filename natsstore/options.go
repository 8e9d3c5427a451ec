package natsstore

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/ipcmesh/ipcmesh/store"
)

// Options configure a Store.
type Options struct {
	// URL lists the cluster's servers, as IPC_STORE takes them:
	// "nats://host:4222[,nats://host2:4222...]". A user and password or a
	// token may be given in the URL as NATS allows
	// (nats://user:pass@host:4222, nats://token@host:4222).
	URL string
	// Creds is a NATS credentials file (a user JWT and its nkey seed).
	Creds string
	// User and Password, or Token, authenticate to the servers.
	User, Password, Token string
	// CA is a PEM file of the authorities that sign the servers'
	// certificates; with it the connection uses TLS.
	CA string
	// Prefix names the stream and buckets the mesh keeps in the cluster
	// ("IPCMESH"): meshes with different prefixes share a cluster without
	// seeing each other's mail.
	Prefix string
	// Replicas is how many servers keep each write: an ack means that
	// many have it, or a majority of them for a replicated stream. It
	// makes a new mesh, or raises an existing one's; a mesh with more
	// keeps its own. 0: the mesh's, or DefaultReplicas for a new one.
	Replicas int
	// LeaseTTL is how long a name stays held after its broker stops
	// renewing it: the time a host that died keeps its names. It makes a
	// new mesh; a broker that joins an existing one renews by the mesh's,
	// which every broker must share. 0: the mesh's, or DefaultLeaseTTL
	// for a new one.
	LeaseTTL time.Duration
	// WriteTimeout bounds one write's wait for the cluster's ack
	// (DefaultWriteTimeout).
	// A cluster without quorum never acks: past this the write fails with
	// unavailable. A large event's body is uploaded, and read back, first,
	// with this and two seconds for every 256 KiB of it.
	WriteTimeout time.Duration
	// SecretTag tags the shared secret the broker runs with
	// (auth.Keys.SessionTag). The first broker of a mesh records it in the
	// cluster, and a broker with another one is refused with an
	// *OtherSecretError: brokers with different secrets would take the
	// names of each other's instances. Empty: nothing is checked.
	SecretTag string
	// NewSecret makes SecretTag the mesh's in place of the one recorded:
	// the mesh's secret is being changed. It is refused while brokers of
	// other hosts hold names.
	NewSecret bool
	// Store configures the view: the local copy each broker keeps, in
	// Store.Dir, of what the cluster holds, which every read is served
	// from. Its limits and retention periods are the mesh's.
	Store store.Options

	// orphanAge and bodySweepEvery time the sweep of the bodies bucket
	// (DefaultOrphanAge, DefaultBodySweepEvery); tests shorten them.
	orphanAge      time.Duration
	bodySweepEvery time.Duration
	// snapshotEvery is how many events apart the views are copied and the
	// log trimmed (DefaultSnapshotEvery); tests make it small.
	snapshotEvery uint64
	// asking, if set, is called as a request of a write to the cluster
	// begins: each try of a publish of its event, an upload of its large
	// body, a take of a name; tests await it to act while a write waits
	// for the cluster's answer.
	asking func()
	// uploaded, if set, is called with the object each time a large
	// event's body has been put into the bodies bucket, or a copy of the
	// views into the snapshots bucket, before it is read back; tests
	// damage the object there.
	uploaded func(*jetstream.ObjectInfo)
	// inRun, if set, is called where a run of events applied in one
	// commit of the view stands (applyRun), with the run's first event
	// and how many of its events are written; tests kill the process
	// there.
	inRun func(at runPoint, first uint64, written int)
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = "IPCMESH"
	}
	// Replicas and LeaseTTL stay 0 until the mesh's are read
	// (adoptMeshSettings): a broker not told otherwise takes them.
	o.Replicas = max(o.Replicas, 0)
	o.LeaseTTL = max(o.LeaseTTL, 0)
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.orphanAge <= 0 {
		o.orphanAge = DefaultOrphanAge
	}
	if o.bodySweepEvery <= 0 {
		o.bodySweepEvery = DefaultBodySweepEvery
	}
	if o.snapshotEvery == 0 {
		o.snapshotEvery = DefaultSnapshotEvery
	}
	return o
}

// The settings of a new mesh, for a broker not given others.
const (
	DefaultReplicas = 3
	DefaultLeaseTTL = 15 * time.Second
)

// DefaultWriteTimeout is how long a write waits for the cluster's ack
// unless Options.WriteTimeout says otherwise. When a server of the
// cluster dies, the streams it led have no leader until its peers have
// missed its heartbeats for 4 to 9 s (Raft's election timeout, NATS's)
// and voted: a write waits that out, with time for its connection to
// leave a server that hangs (pingInterval), since the cluster has its
// quorum and will ack. At 5 s, the writes made early in an election
// failed with unavailable after one server of three was killed.
const DefaultWriteTimeout = 12 * time.Second

// IsURL reports whether s names a NATS cluster rather than the default
// bbolt store: IPC_STORE and --store take either. A URL's scheme is read
// whatever its case (RFC 3986, section 3.1), as the client reads it:
// NATS://host:4222 names the same server as nats://host:4222.
func IsURL(s string) bool {
	// ParseURL takes the spaces around each server off.
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "nats://") || strings.HasPrefix(s, "tls://")
}

// Redacted returns the server list s as messages and logs may show it:
// the password or token a URL carries (nats://user:pass@host,
// nats://token@host) is the cluster's key, and is shown as xxxxx.
func Redacted(s string) string {
	parts := strings.Split(s, ",")
	for i, part := range parts {
		part = strings.TrimSpace(part)
		parts[i] = part
		at := strings.LastIndex(part, "@")
		if at < 0 {
			continue
		}
		u, err := url.Parse(part)
		if err != nil || u.User == nil {
			// Not a URL the client would take, but what precedes the @
			// may be a secret all the same.
			start := 0
			if sep := strings.Index(part, "://"); sep >= 0 && sep+len("://") <= at {
				start = sep + len("://")
			}
			parts[i] = part[:start] + "xxxxx" + part[at:]
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = url.User("xxxxx") // a token
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// ParseURL checks a server list as IPC_STORE gives it, so that a typo is
// reported before anything is started. The servers are returned with
// their schemes in lower case, as the client gives the servers it
// discovers, so that the data folder's record lists each server once.
func ParseURL(s string) ([]string, error) {
	var urls []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" || !oneServer(u) {
			return nil, fmt.Errorf("store %q: %q is not a NATS server URL: give nats://host:4222, several separated by commas", Redacted(s), Redacted(part))
		}
		// url.Parse gave the scheme in lower case; the rest is kept as
		// written (a user name and password are case sensitive).
		urls = append(urls, u.Scheme+part[len(u.Scheme):])
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("store %q names no NATS server: give nats://host:4222", Redacted(s))
	}
	return urls, nil
}

// oneServer reports whether u names one server and nothing more. Two
// servers joined by another separator than a comma parse as one URL
// ("nats://h1:4222;nats://h2:4222" has the host "h1:4222;nats:" and the
// path "//h2:4222"), which a connect then reported as a host name that
// does not resolve.
func oneServer(u *url.URL) bool {
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	// A colon is left in the host's name only by a port that is not
	// one; an IPv6 address is in brackets, which Hostname takes off.
	return !strings.Contains(u.Hostname(), ":") || strings.HasPrefix(u.Host, "[")
}

// checkFiles reads the files of IPC_NATS_CREDS and IPC_NATS_CA. The client
// reads them only as it connects and names neither the setting nor what to
// do: a file missing, or one of another kind, is better named here.
func checkFiles(o Options) error {
	for _, f := range []struct {
		setting, path, what string
		holds               func([]byte) error
	}{
		{"IPC_NATS_CREDS", o.Creds, "a NATS credentials file (a user JWT and its nkey seed, as nsc generate creds writes it)", func(b []byte) error {
			_, err := nkeys.ParseDecoratedNKey(b)
			return err
		}},
		{"IPC_NATS_CA", o.CA, "a PEM file of the CAs that sign the NATS servers' certificates", func(b []byte) error {
			if !x509.NewCertPool().AppendCertsFromPEM(b) {
				return errors.New("no PEM certificate in it")
			}
			return nil
		}},
	} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("%s=%s names no file this broker can read (%w): give %s, or unset it", f.setting, f.path, err, f.what)
		}
		if err := f.holds(b); err != nil {
			return fmt.Errorf("%s=%s is not %s (%w): give such a file, or unset it", f.setting, f.path, f.what, err)
		}
	}
	return nil
}

// pingInterval and maxPingsOut bound how long the connection stays with
// a server that does not answer (connect).
const (
	pingInterval = time.Second
	maxPingsOut  = 2
)

// connect dials the cluster. The connection reconnects for ever: a broker
// outlives any one server, and a cluster that is down for a while makes
// writes fail (unavailable), not the broker stop.
func connect(o Options, name string) (*nats.Conn, error) {
	urls, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if err := checkFiles(o); err != nil {
		return nil, err
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		// A server that hangs, or is cut off without a reset, keeps the
		// connection open and answers nothing on it: the library's
		// default ping (every 2 minutes, 2 unanswered) left every write
		// of this broker failing that long while the rest of the cluster
		// served. Pinged every second, it is given up within about 3 s
		// and the connection moves to another server.
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.CA != "" {
		opts = append(opts, nats.RootCAs(o.CA))
	}
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		err = tellingAnswer(urls, opts, err)
		if errors.Is(err, nats.ErrNoServers) {
			return nil, fmt.Errorf("connect to the NATS cluster %s: no server answered: start it (ipcmesh cluster runs one on this machine) or fix IPC_STORE: %w", Redacted(o.URL), err)
		}
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("connect to the NATS cluster %s: it refused this broker's credentials: check IPC_NATS_CREDS, IPC_NATS_USER and IPC_NATS_PASSWORD, or IPC_NATS_TOKEN, against the cluster's accounts: %w", Redacted(o.URL), err)
		}
		if notGreeted(err) {
			return nil, fmt.Errorf("connect to the NATS cluster %s: a server there took the connection but did not greet it as a NATS server does: IPC_STORE must list the client ports of NATS servers (4222 by default, or the line ipcmesh cluster prints), not the mesh's own port (IPC_PORT) or another service's; if it is a NATS server's client port, that server hangs (stopped, overloaded): %w", Redacted(o.URL), err)
		}
		if host, ok := unresolved(err); ok {
			return nil, fmt.Errorf("connect to the NATS cluster %s: the host name %q in IPC_STORE does not resolve to an address: check its spelling, that this machine's DNS (or hosts file) knows it, or give the server's IP address instead (nats://10.0.0.5:4222): %w", Redacted(o.URL), host, err)
		}
		return nil, fmt.Errorf("connect to the NATS cluster %s: %w", Redacted(o.URL), err)
	}
	return nc, nil
}

// notGreeted reports whether err is a connect that reached a server which
// did not open with the INFO line every NATS server sends first: a port of
// some other service, which the client reports only as a read that timed
// out ("read tcp ...: i/o timeout") or a protocol exception. A dial that
// timed out (a host that drops the connection) reached no server.
func notGreeted(err error) bool {
	if errors.Is(err, nats.ErrNoInfoReceived) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read" && oe.Timeout()
}

// unresolved reports whether err is a dial's failure to find an address
// for a host name, and which. The client's own words are the resolver's
// ("lookup nats-1 on 10.0.0.53:53: no such host"), which say neither that
// the name came from IPC_STORE nor what to do.
func unresolved(err error) (host string, ok bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Name, true
	}
	// A name that resolved to no address the dial can use.
	var addr *net.AddrError
	if errors.As(err, &addr) && addr.Addr != "" && net.ParseIP(addr.Addr) == nil {
		return addr.Addr, true
	}
	return "", false
}

// tellingAnswer returns, for a connect to several servers that failed with
// err, the answer that says what to fix. The client reports the last
// server it tried, in an order of its own, and counts a refused
// connection as no answer at all: one server down hid the others'
// refusal of the credentials (or of the TLS handshake), and the person was
// told to start servers that were up. Each server is asked again alone;
// only a connect that failed pays for that.
func tellingAnswer(urls []string, opts []nats.Option, err error) error {
	if len(urls) < 2 {
		return err
	}
	var answer error
	for _, u := range urls {
		nc, e := nats.Connect(u, opts...)
		switch {
		case e == nil:
			nc.Close() // up now: the failure was the others'
		case errors.Is(e, nats.ErrAuthorization):
			return e
		case answer == nil && !errors.Is(e, nats.ErrNoServers):
			answer = e
		}
	}
	if answer != nil {
		return answer
	}
	return err
}
