package election

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// DefaultAddr is where the mesh lives unless IPC_HOST or IPC_PORT say
// otherwise.
const DefaultAddr = "127.0.0.1:9876"

// Config says where the mesh is and how a broker hosted here behaves.
type Config struct {
	// Addr is the mesh address every peer binds or dials.
	Addr string
	// Dial, when set, connects to a broker in this process instead (the
	// Pipe of the peer that hosts it): the peer neither binds nor dials
	// Addr, and cannot host a broker itself. The HTTP face of "ipcmesh
	// broker --http" joins so.
	Dial func(ctx context.Context) (net.Conn, error)
	// DataDir holds the store, the secret file and the session tokens.
	DataDir string
	// Keys are derived from the shared secret; SecretFrom says where the
	// secret came from.
	Keys       auth.Keys
	SecretFrom auth.Source
	// secretPadding describes the whitespace at either end of
	// IPC_SHARED_SECRET ("" when none), for the errors of a handshake
	// that fails: the secret is taken byte for byte, and a newline a
	// config file or a here-string left on it makes another secret.
	secretPadding string
	// brokerErr is the first bad setting of those only a broker reads,
	// when PeerFromEnv let it pass: a peer that would host or start a
	// broker fails with it instead.
	brokerErr error
	// Store configures the store when this peer hosts the broker. Its Dir
	// is DataDir.
	Store store.Options
	// Cluster, when its URL is set (IPC_STORE=nats://...), puts the
	// broker's store in a NATS JetStream cluster shared with the brokers of
	// other hosts; Store then configures the broker's view of it.
	Cluster natsstore.Options
	// storeChosen is set when IPC_STORE or --store named the store: only
	// then is the cluster the data folder remembers ignored.
	storeChosen bool
	// Limits and SessionTTL configure a broker hosted here.
	Limits     ipc.Limits
	SessionTTL time.Duration
	// Subscribe asks the broker to push this peer's mail to OnEvent.
	Subscribe bool
	// Holder, when set, is an id of this process, sent with every
	// register and resume (ipc.RegisterRequest.Holder): the broker then
	// refuses this peer a name another process acts as under its own
	// Holder, even one of the same data folder, whose tokens and
	// session ids this peer can read. An assistant's server sets it;
	// commands, which act as a name beside it, do not.
	Holder string
	// KeepsKeys tells the broker that this subscribed peer keeps its
	// name's live keys in memory (the HTTP face): a revoke of one is then
	// answered only once the peer has called ForgotKey for it.
	KeepsKeys bool
	// CallersElsewhere says that the peer acts for callers on other
	// machines (the HTTP face): while the mesh is out of its reach, its
	// calls fail with words that name no file or folder of this machine,
	// which would tell a caller the user's name and home folder; the log
	// has the cause.
	CallersElsewhere bool
	// KeepCurrent leaves the data folder's current name alone when this
	// peer registers: a peer whose name is its own (an MCP server, the
	// HTTP face, a command run --as a name) must not change which name
	// the user's other commands act as.
	KeepCurrent bool
	// Detach, when set, is the command that runs a detached broker
	// ("ipcmesh broker --detached"): a peer that wins the mesh port starts
	// it and hands it the port, instead of hosting the broker in its own
	// process. Unset, the broker is hosted in-process, as "ipcmesh broker",
	// the tests and the bench want.
	Detach []string
	// BrokerIdle is how long a detached broker serves with no peer
	// connected before it stops (DefaultBrokerIdle).
	BrokerIdle time.Duration
	// AnswerTimeout is how long a call may go unanswered beyond the wait
	// it asks the broker for before it fails with ErrNotAnswering
	// (DefaultAnswerTimeout).
	AnswerTimeout time.Duration
	// OnEvent receives pushed events in order, across brokers, one call at
	// a time; it is called from a connection's read loop and must not
	// block. With Subscribe, after each reconnect it also receives, as
	// pushed messages, the unread mail stored while the peer had no
	// connection, which no broker pushed to it: those may come after
	// messages the new broker pushed.
	OnEvent func(ipc.Event)
	// OnConnection, when set, is told each time the peer's connection to
	// the broker is lost (up false) and each time a new one serves, its
	// session resumed (up true, with the broker's description). Events
	// pushed in between were missed: whatever events keep current must be
	// refreshed. It is called outside the peer's locks and must not block.
	OnConnection func(b ipc.BrokerInfo, up bool)
	// OnRenamed, when set, is told when a resume finds that a rename of
	// this peer, which got no answer, was carried out: the peer acts as
	// new from then on, and what the process keeps by name (an
	// assistant's auto-check setting) follows it. A rename answered is
	// its caller's to follow. It is called outside the peer's locks and
	// must not block.
	OnRenamed func(old, new string)
	// StopAsked, when set, is told that ipcmesh stop asked the broker
	// this peer hosts in its process to stop and hand over (the stop op,
	// StopBroker): its owner ends as it does on SIGTERM, closing the peer,
	// and so the process. Unset, that broker refuses the request, and
	// ipcmesh stop signals the process instead: a process that hosts the
	// broker only for itself ends on the signal, as it did. It must not
	// block.
	StopAsked func()
	Logger    *slog.Logger

	// openWait is how long a peer waits for a broker that holds the port
	// while it opens its store (clusterOpenTimeout if zero), and
	// beforeWork, if set, is called by a broker before it does the work
	// handed over to it: tests shorten the one and hold the other.
	openWait   time.Duration
	beforeWork func()
}

// DataDirPath is the data folder an IPC_DATA_DIR of dir names, absolute,
// with getenv the environment it was read from. What a shell would have
// expanded is expanded here, since none did in an assistant's JSON config,
// a quoted value or PowerShell, and taken as it is the value would name a
// folder called "~" or "$HOME" in whatever folder the command runs in:
// another data folder, with another secret, in each, where the user meant
// one. So a leading "~" and separator is the home folder (and "~name",
// another user's in a shell, is refused rather than looked up), and $NAME,
// ${NAME}, PowerShell's $env:NAME and, on Windows, %NAME% are the
// variable's value; one that is not set is an error, not an empty string
// that would move the folder to the root. A relative path is taken from
// the working folder.
func DataDirPath(dir string, getenv func(string) string) (string, error) {
	if pad := padding(dir); pad != "" {
		// A folder named " /srv/mesh" in the working folder, or
		// "/srv/mesh " beside the one meant: another data folder, with
		// another secret, made without a word.
		return "", fmt.Errorf("IPC_DATA_DIR=%q %s, which would be part of the folder's name: remove it", dir, pad)
	}
	expanded, err := expandVars(dir, getenv, runtime.GOOS == "windows")
	if err != nil {
		return "", fmt.Errorf("IPC_DATA_DIR=%q: %w", dir, err)
	}
	dir = expanded
	if strings.HasPrefix(dir, "~") {
		if _, ok := homeRelative(dir); !ok {
			// A shell makes "~bob/x" bob's home folder, but only for a
			// user it knows; taken as it is, it would be a folder named
			// "~bob" in whatever folder the command runs in.
			return "", fmt.Errorf("IPC_DATA_DIR=%q: a \"~\" followed by a name is that user's home folder in a shell, which is not looked up here: give the whole path, or ~%cx for a folder x in your own home folder (a folder whose name begins with \"~\" is .%c%s)", dir, filepath.Separator, filepath.Separator, dir)
		}
	}
	if rest, ok := homeRelative(dir); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("IPC_DATA_DIR=%q: find the home folder for its \"~\": %w; give the whole path instead", dir, err)
		}
		dir = filepath.Join(home, rest)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir, nil
}

// homeRelative reports whether path is "~" or starts with "~" and a
// separator, and returns what follows.
func homeRelative(path string) (rest string, ok bool) {
	if path == "~" {
		return "", true
	}
	if len(path) > 1 && path[0] == '~' && os.IsPathSeparator(path[1]) {
		return path[2:], true
	}
	return "", false
}

// ExpandHome puts the home folder in place of a leading "~" that stands
// alone or before a separator: a path in an assistant's JSON config, or
// quoted in a shell, reaches ipcmesh with its "~" unexpanded, and taken as
// it is it would name a folder "~" in whatever folder the process runs
// in. "~user", and a home folder the system does not know, stay as they
// are.
func ExpandHome(path string) string {
	rest, ok := homeRelative(path)
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return path
	}
	return filepath.Join(home, rest)
}

// isHomeRelative is homeRelative's ok alone.
func isHomeRelative(path string) bool {
	_, ok := homeRelative(path)
	return ok
}

// validHost reports whether host is an IP address or a host name as DNS
// writes one. Else it is put into the address as it is, and the dial's
// error ("lookup [http://127.0.0.1]:9876: no such host") names neither
// the setting nor what is wrong with it.
func validHost(host string) bool {
	if net.ParseIP(host) != nil {
		return true
	}
	if len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// FromEnv builds a Config from the environment, as every ipcmesh command
// does. getenv is os.Getenv outside tests. Bad values are errors that name
// the variable and say what it takes.
func FromEnv(getenv func(string) string) (Config, error) {
	return fromEnv(getenv, false)
}

// PeerFromEnv is FromEnv for a command that asks a broker that runs and
// needs none of the settings only a broker reads: its limits and periods
// (ipcmesh stop, ipcmesh status). A user who set one of those wrongly must
// still be able to stop the broker or see its status. A bad one is not an
// error here but is returned as unused, for the command to warn of, and
// left at its default; a Join with the Config that would host or start a
// broker fails with it, as FromEnv would have.
func PeerFromEnv(getenv func(string) string) (cfg Config, unused, err error) {
	cfg, err = fromEnv(getenv, true)
	return cfg, cfg.brokerErr, err
}

func fromEnv(getenv func(string) string, peerOnly bool) (Config, error) {
	var cfg Config
	host := getenv("IPC_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	if !validHost(host) {
		return cfg, BadValue("IPC_HOST", host, "a host name or an IP address alone, such as 127.0.0.1, without a scheme, a port (IPC_PORT gives it) or spaces")
	}
	port := getenv("IPC_PORT")
	if port == "" {
		port = "9876"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return cfg, BadValue("IPC_PORT", port, "a port number from 1 to 65535")
	}
	// Written canonically: the port is compared as a string with the one
	// the broker's record gives (samePort), and 09876 is 9876.
	cfg.Addr = net.JoinHostPort(host, strconv.Itoa(n))

	cfg.DataDir = getenv("IPC_DATA_DIR")
	if cfg.DataDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return cfg, fmt.Errorf("find the home folder for the default data folder (set IPC_DATA_DIR instead): %w", err)
		}
		cfg.DataDir = filepath.Join(home, ".ipcmesh")
	}
	if cfg.DataDir, err = DataDirPath(cfg.DataDir, getenv); err != nil {
		return cfg, err
	}
	if fi, err := os.Stat(cfg.DataDir); err == nil && !fi.IsDir() {
		// Else the first file in it fails, naming neither.
		return cfg, fmt.Errorf("the data folder %s is a file, not a folder: point IPC_DATA_DIR at a folder (one that does not exist yet is made)", cfg.DataDir)
	}

	if err := brokerSettings(&cfg, getenv); err != nil {
		if !peerOnly {
			return cfg, err
		}
		// What was read of them may not go together: the defaults do.
		cfg.Store, cfg.Limits, cfg.SessionTTL, cfg.BrokerIdle = store.Options{}, ipc.Limits{}, 0, 0
		cfg.brokerErr = err
	}

	if err := clusterFromEnv(&cfg, getenv); err != nil {
		return cfg, err
	}

	envSecret := getenv("IPC_SHARED_SECRET")
	secret, src, err := auth.LoadSecret(cfg.DataDir, envSecret)
	if err != nil {
		return cfg, err
	}
	keys, err := auth.DeriveKeys(secret)
	if err != nil {
		return cfg, err
	}
	cfg.Keys, cfg.SecretFrom = keys, src
	cfg.secretPadding = padding(envSecret)
	return cfg, nil
}

// BadValue is the error for a setting whose value is not one it takes:
// it names the setting and the value, and says what the setting takes.
// A value a config file or a copy left a space or a newline on reads
// as the right one, and the error would send its user to look for
// another: that is said, too.
func BadValue(name, value, takes string) error {
	if pad := padding(value); pad != "" {
		return fmt.Errorf("%s=%q: want %s; the value %s: remove it", name, value, takes, pad)
	}
	return fmt.Errorf("%s=%q: want %s", name, value, takes)
}

// padding describes the whitespace at the ends of s, "" when it has none.
func padding(s string) string {
	trimmed := strings.TrimSpace(s)
	switch {
	case trimmed == s:
		return ""
	case trimmed == "":
		return fmt.Sprintf("is only whitespace (%q)", s)
	}
	var ends []string
	lead := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	if lead > 0 {
		ends = append(ends, fmt.Sprintf("begins with %q", s[:lead]))
	}
	if trail := s[lead+len(trimmed):]; trail != "" {
		ends = append(ends, fmt.Sprintf("ends with %q", trail))
	}
	return strings.Join(ends, " and ")
}

// paddingHint is what an error of a handshake that failed adds when this
// peer's IPC_SHARED_SECRET has whitespace at an end: the likeliest cause.
// The secret is not trimmed, as whitespace may be part of it on purpose.
func (c Config) paddingHint() string {
	if c.secretPadding == "" {
		return ""
	}
	return fmt.Sprintf(". Note that this peer's IPC_SHARED_SECRET %s: whitespace is part of a secret as any character is, so if the other peers' has none, remove it (a value read from a file or written in a config file often keeps a newline or a space)", c.secretPadding)
}

// brokerSettings reads the settings only a broker uses: its limits and
// periods. The first bad one is the error.
func brokerSettings(cfg *Config, getenv func(string) string) error {
	for _, v := range numericSettings(cfg) {
		if s := getenv(v.name); s != "" && !v.set(s) {
			return BadValue(v.name, s, v.takes)
		}
	}
	maxFrame, maxMsg := cfg.Limits.MaxFrame, cfg.MessageLimit()
	if maxFrame == 0 {
		maxFrame = ipc.DefaultMaxFrame
	}
	if maxFrame < maxMsg+frameRoom {
		// Which of the two was set says which to change; the number
		// to give spares the sum. The frame's default is 16 MiB
		// whatever the message limit, so raising the message limit
		// alone past it ends here.
		frame, msg := fmt.Sprintf("IPC_MAX_FRAME_BYTES=%d", maxFrame), fmt.Sprintf("%d bytes (IPC_MAX_MESSAGE_BYTES)", maxMsg)
		if cfg.Limits.MaxFrame == 0 {
			frame += " (its default: it is not set)"
		}
		if cfg.Store.MaxMessageBytes == 0 {
			msg = fmt.Sprintf("%d bytes (IPC_MAX_MESSAGE_BYTES's default)", maxMsg)
		}
		return fmt.Errorf("%s is too small for messages of up to %s: set IPC_MAX_FRAME_BYTES=%d or more, 64 KiB more than the message limit", frame, msg, maxMsg+frameRoom)
	}

	return nil
}

// setting is a variable of the environment that takes a number above 0.
type setting struct {
	name string
	// set parses a value, as the kind of number the setting is, and
	// stores it; false says the value is not one.
	set func(string) bool
	// takes says what the variable wants, for the error.
	takes string
}

// What the kinds of setting take.
const (
	takesCount = "a whole number above 0"
	takesSize  = "a whole number of bytes from 1 to 1073741824 (1 GiB)"
	// A message must fit in a frame, which is at most maxSize.
	takesMessageSize = "a whole number of bytes from 1 to 1073676288 (1 GiB less the 64 KiB a frame needs beside a message)"
	takesRate        = "a number of requests per second above 0"
	takesDuration    = "a duration above 0, such as 24h, 90m or 30d"
	// A session is renewed four times in its life: one of a nanosecond
	// would be renewed every 0 ns, which no ticker takes.
	takesLifetime = "a duration of 1s or more, such as 24h"
)

// maxSize bounds the settings of a size in bytes. A message or a frame is
// held in memory whole, and the checks that compare them (a frame 64 KiB
// larger than a message, a body one byte past the limit) must not wrap
// around: 9223372036854775807 passed them and then refused every message
// as empty.
const maxSize = 1 << 30

// frameRoom is how much larger than the message limit a frame must be:
// room for the request around the message's text. The message limit is
// bounded by maxSize less this, or a message limit taken alone would
// want a frame no setting could give.
const frameRoom = 64 << 10

// numericSettings are the settings of cfg that take a number, in the order
// they are read: the first bad one is the one an error names.
func numericSettings(cfg *Config) []setting {
	return []setting{
		{"IPC_LARGE_MESSAGE_BYTES", between(&cfg.Store.LargeMessageBytes, strconv.Atoi, 1, maxSize), takesSize},
		{"IPC_MAX_MESSAGE_BYTES", between(&cfg.Store.MaxMessageBytes, strconv.Atoi, 1, maxSize-frameRoom), takesMessageSize},
		{"IPC_INBOX_CAP", above0(&cfg.Store.InboxCap, strconv.Atoi), takesCount},
		{"IPC_MAX_FRAME_BYTES", between(&cfg.Limits.MaxFrame, strconv.Atoi, 1, maxSize), takesSize},
		{"IPC_RATE_BURST", above0(&cfg.Limits.OpsBurst, strconv.Atoi), takesCount},
		{"IPC_RATE_LIMIT", above0(&cfg.Limits.OpsPerSecond, parseFloat), takesRate},
		{"IPC_REGISTER_RATE", above0(&cfg.Limits.RegisterPerSecond, parseFloat), takesRate},
		{"IPC_SESSION_TTL", between(&cfg.SessionTTL, human.ParseDuration, time.Second, math.MaxInt64), takesLifetime},
		{"IPC_HISTORY_RETENTION", above0(&cfg.Store.HistoryRetention, human.ParseDuration), takesDuration},
		{"IPC_BROKER_IDLE", above0(&cfg.BrokerIdle, human.ParseDuration), takesDuration},
	}
}

// above0 is the set of a setting that parse reads into dst: values it
// cannot read, and those not above 0, are refused.
func above0[T int | float64 | time.Duration](dst *T, parse func(string) (T, error)) func(string) bool {
	return func(s string) bool {
		v, err := parse(s)
		if err != nil || v <= 0 {
			return false
		}
		*dst = v
		return true
	}
}

// between is above0 for a setting that takes values from lo to hi.
func between[T int | time.Duration](dst *T, parse func(string) (T, error), lo, hi T) func(string) bool {
	return func(s string) bool {
		v, err := parse(s)
		if err != nil || v < lo || v > hi {
			return false
		}
		*dst = v
		return true
	}
}

// parseFloat reads a finite number. NaN passed above0's check (every
// comparison with NaN is false) and left the broker with no rate limit at
// all; Inf is no limit either.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return v, err
}

// clusterFromEnv reads IPC_STORE and the NATS settings that go with it.
func clusterFromEnv(cfg *Config, getenv func(string) string) error {
	if err := SetStore(cfg, getenv("IPC_STORE")); err != nil {
		return err
	}
	c := &cfg.Cluster
	c.Creds = ExpandHome(getenv("IPC_NATS_CREDS"))
	c.User, c.Password = getenv("IPC_NATS_USER"), getenv("IPC_NATS_PASSWORD")
	c.Token = getenv("IPC_NATS_TOKEN")
	c.CA = ExpandHome(getenv("IPC_NATS_CA"))
	c.Prefix = getenv("IPC_NATS_PREFIX")
	if s := getenv("IPC_NATS_REPLICAS"); s != "" {
		// An even count tolerates no more lost servers than the odd one
		// below it: a write needs a majority of the replicas.
		n, err := strconv.Atoi(s)
		if err != nil || n != 1 && n != 3 && n != 5 {
			return BadValue("IPC_NATS_REPLICAS", s, "1, 3 or 5 (how many NATS servers keep each write)")
		}
		c.Replicas = n
	}
	if s := getenv("IPC_NATS_LEASE"); s != "" {
		d, err := human.ParseDuration(s)
		if err != nil || d < time.Second {
			return BadValue("IPC_NATS_LEASE", s, "a duration of 1s or more, such as 15s (how long a host that died keeps its names)")
		}
		c.LeaseTTL = d
	}
	if p := c.Prefix; p != "" && !validPrefix(p) {
		return BadValue("IPC_NATS_PREFIX", p, "letters, digits, '-' or '_' (it names the mesh's stream and buckets)")
	}
	return nil
}

// SetStore chooses the store from IPC_STORE or --store: "" or "bbolt" for
// the data folder's own file, or a NATS URL list for a cluster.
func SetStore(cfg *Config, s string) error {
	cfg.storeChosen = s != ""
	switch {
	case s == "" || strings.EqualFold(s, "bbolt"):
		cfg.Cluster.URL = ""
	case natsstore.IsURL(s):
		urls, err := natsstore.ParseURL(s)
		if err != nil {
			return fmt.Errorf("IPC_STORE: %w", err)
		}
		cfg.Cluster.URL = strings.Join(urls, ",")
	default:
		return BadValue("IPC_STORE", s, "bbolt (the default: a file in the data folder) or nats://host:4222[,nats://host2:4222...] (a NATS JetStream cluster)")
	}
	return nil
}

// StoreURL returns the NATS cluster a broker of this configuration keeps
// the mesh in, as a server list, and its prefix: the one IPC_STORE or
// --store name or, when neither chose a store, the one the data folder's
// last broker used. The URL is "" for the data folder's own bbolt file.
func (c Config) StoreURL() (url, prefix string) {
	if c.Cluster.URL != "" || c.storeChosen {
		return c.Cluster.URL, c.Cluster.Prefix
	}
	if r, ok := natsstore.Recorded(c.DataDir); ok {
		prefix = c.Cluster.Prefix
		if prefix == "" {
			prefix = r.Prefix
		}
		return r.URL, prefix
	}
	return "", ""
}

func validPrefix(p string) bool {
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return len(p) <= 32
}
