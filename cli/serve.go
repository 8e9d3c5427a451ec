package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/gateway"
	"github.com/ipcmesh/ipcmesh/internal/human"
)

// runServe runs a peer of the mesh with the HTTP face: REST, events, MCP
// over HTTP and the web page (docs/HTTP.md). Like any peer it joins the
// local mesh, or starts the broker when none runs, and leaves it when it
// stops. (ipcmesh broker --http serves the same face from the broker's
// own process.)
func runServe(ctx context.Context, e Env, args []string) error {
	var f faceFlags
	var sf storeFlags
	fs := flags("serve")
	f.register(fs)
	sf.register(fs, false)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("serve")(pos); err != nil {
		return err
	}
	if f.addr == "" {
		return usagef("say where to serve: --http 127.0.0.1:8080")
	}
	if err := f.check(e.Getenv); err != nil {
		return err
	}
	f.warn(e.Stderr)
	cfg, err := meshConfig(e)
	if err != nil {
		return err
	}
	if err := sf.apply(&cfg); err != nil {
		return err
	}
	ln, err := f.listen()
	if err != nil {
		return err
	}
	return f.serve(ctx, e, cfg, ln)
}

// faceFlags are the flags of the HTTP face, for serve and broker --http.
type faceFlags struct {
	addr, cert, key string
	insecure        bool
	origins, hosts  listFlag
	// Set by check: the TLS of --tls-cert (nil for plain HTTP), and the
	// per-key limits of the environment (0 for the face's defaults).
	tls   *tls.Config
	rate  float64
	burst int
	idle  time.Duration
}

func (f *faceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "http", "", "serve HTTP on `ADDR` (host:port; port 0 picks a free one)")
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with the certificate in `FILE` (PEM)")
	fs.StringVar(&f.key, "tls-key", "", "the private key of --tls-cert, in `FILE` (PEM)")
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP on a non-loopback address (behind a TLS proxy)")
	fs.Var(&f.origins, "allow-origin", "let web pages from `ORIGIN` (https://app.example) call the face; repeatable")
	fs.Var(&f.hosts, "allow-host", "accept Host `NAME` besides the loopback names (a tunnel's name); repeatable")
}

// check checks that the flags of a face on f.addr go together, and that
// plain HTTP is only served where no other machine can listen in, then
// loads the TLS certificate and reads the face's limits from the
// environment: all before anything is started.
func (f *faceFlags) check(getenv func(string) string) (err error) {
	if (f.cert == "") != (f.key == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		return usagef("--http %q: want host:port, such as 127.0.0.1:8080: %v", f.addr, err)
	}
	if err := gateway.CheckOrigins(f.origins); err != nil {
		return usagef("--allow-origin %v", err)
	}
	if err := gateway.CheckHosts(f.hosts); err != nil {
		return usagef("--allow-host %v", err)
	}
	if f.cert == "" && !f.insecure && !isLoopback(host) {
		return fmt.Errorf("--http %s is reachable from other machines, and plain HTTP would send access keys in the clear: give --tls-cert and --tls-key, or --insecure when a TLS proxy in front of it does TLS", f.addr)
	}
	if f.rate, f.burst, f.idle, err = httpLimits(getenv); err != nil {
		return err
	}
	if f.cert == "" {
		return nil
	}
	pair, err := loadKeyPair(f.cert, f.key)
	if err != nil {
		return err
	}
	f.tls = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return nil
}

// loadKeyPair loads the certificate of --tls-cert and its key of
// --tls-key. crypto/tls names neither flag ("private key does not match
// public key"), so each file is read and looked at first, and every error
// says which flag gave the wrong file and what it should hold.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readPEMSetting("--tls-cert", certFile, "the certificate, PEM (cert.pem)")
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPEMSetting("--tls-key", keyFile, "the certificate's private key, PEM (key.pem)")
	if err != nil {
		return tls.Certificate{}, err
	}
	certs, certKeys := pemKinds(certPEM)
	keyCerts, keys := pemKinds(keyPEM)
	switch {
	case certs == 0 && certKeys > 0 && keyCerts > 0:
		return tls.Certificate{}, fmt.Errorf("--tls-cert %s holds a private key and --tls-key %s a certificate: swap the two files", certFile, keyFile)
	case certs == 0:
		return tls.Certificate{}, fmt.Errorf("--tls-cert %s holds no PEM certificate (a -----BEGIN CERTIFICATE----- block): give the certificate file, such as the cert.pem of openssl req -x509 -out cert.pem", certFile)
	case keys == 0:
		return tls.Certificate{}, fmt.Errorf("--tls-key %s holds no PEM private key (a -----BEGIN ... PRIVATE KEY----- block): give the certificate's key file, such as the key.pem of openssl req -x509 -keyout key.pem", keyFile)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// Both files hold what they should: the key is not the
		// certificate's, or is of a kind Go does not read.
		return tls.Certificate{}, fmt.Errorf("--tls-key %s does not go with the certificate of --tls-cert %s (%v): give the key made together with that certificate", keyFile, certFile, err)
	}
	// An expired certificate would be served, and every client would
	// refuse it at each connection, far from the cause: say it here.
	if leaf := pair.Leaf; leaf != nil && time.Now().After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("the certificate of --tls-cert %s expired on %s, and clients refuse an expired one: renew it, or make a new one (openssl req -x509 ... -days 365, as in the README's Remote mode)", certFile, leaf.NotAfter.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return pair, nil
}

// readPEMSetting reads the file the flag from names, which should hold
// what.
func readPEMSetting(from, path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(bytes.TrimSpace(b)) == 0:
		return nil, fmt.Errorf("%s %s is empty: give the file that holds %s", from, path, what)
	case err == nil:
		return b, nil
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s %s: no such file: give the file that holds %s", from, path, what)
	}
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s %s is a folder: give the file in it that holds %s", from, path, what)
	}
	return nil, fmt.Errorf("%s %s: %w: give a file this user can read that holds %s", from, path, err, what)
}

// pemKinds counts the certificates and the private keys among the PEM
// blocks of b.
func pemKinds(b []byte) (certs, keys int) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return certs, keys
		}
		switch {
		case block.Type == "CERTIFICATE":
			certs++
		case block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY"):
			keys++
		}
	}
}

// warn writes on w what check found that does not stop the face: a TLS
// key other users can read.
func (f *faceFlags) warn(w io.Writer) {
	if f.key != "" {
		warnReadable(w, "--tls-key", f.key, "whoever reads it can pose as this face")
	}
}

// warnReadable warns on w when the secret file at path, which the setting
// from gave, can be read or written by other users of this machine, as
// ssh does of a private key; it is not refused, since a service's group
// may be meant to read it. On Windows modes mean nothing.
func warnReadable(w io.Writer, from, path, why string) {
	if w == nil || runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	fmt.Fprintf(w, "warning: %s %s can be read by other users of this machine (mode %04o), and %s: chmod 600 %s\n", from, path, fi.Mode().Perm(), why, path)
}

// listen binds the face's address.
func (f *faceFlags) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w: if another program holds that port, pick another with --http HOST:PORT (port 0 picks a free one)", f.addr, err)
	}
	return ln, nil
}

// serve serves the face of the mesh cfg describes on ln until ctx is done.
func (f *faceFlags) serve(ctx context.Context, e Env, cfg election.Config, ln net.Listener) (err error) {
	defer ln.Close()
	opts := gateway.Options{
		Mesh:         cfg,
		Addr:         ln.Addr().String(),
		AllowOrigins: f.origins,
		AllowHosts:   f.hosts,
		Rate:         f.rate,
		Burst:        f.burst,
		Idle:         f.idle,
		Version:      Version,
		Logger:       cfg.Logger,
	}
	gw, err := gateway.New(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := gw.Close(); err == nil {
			err = cerr
		}
	}()
	return serveHTTP(ctx, e, gw, ln, f.tls, opts)
}

// serveHTTP serves the face gw on ln (over TLS when tlsConf is set) until
// ctx is done, then shuts the server down, waiting a while for its
// handlers.
func serveHTTP(ctx context.Context, e Env, gw *gateway.Server, ln net.Listener, tlsConf *tls.Config, opts gateway.Options) error {
	srv := &http.Server{TLSConfig: tlsConf}
	gw.ConfigureServer(srv)
	// Shutdown waits for handlers; closing the face ends its event streams
	// and waits, so that they do.
	srv.RegisterOnShutdown(func() { gw.Close() })
	served := make(chan error, 1)
	scheme := "http"
	go func() {
		if tlsConf != nil {
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()
	if tlsConf != nil {
		scheme = "https"
	}
	fmt.Fprintf(e.Stdout, "ipcmesh serving %s://%s (mesh %s, data folder %s); Ctrl-C stops\n", scheme, displayAddr(opts.Addr), opts.Mesh.Addr, opts.Mesh.DataDir)
	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP on %s: %w", opts.Addr, err)
	case <-ctx.Done():
	}
	fmt.Fprintln(e.Stdout, "stopping")
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(stop); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop serving HTTP: %w", err)
	}
	return nil
}

// httpLimits reads the per-key limits of the HTTP face from the
// environment; zero values leave the face's defaults.
func httpLimits(getenv func(string) string) (rate float64, burst int, idle time.Duration, err error) {
	if v := getenv("IPC_HTTP_RATE"); v != "" {
		if rate, err = strconv.ParseFloat(v, 64); err != nil || !(rate > 0) || math.IsInf(rate, 0) {
			return 0, 0, 0, election.BadValue("IPC_HTTP_RATE", v, "requests a second per key, a number above 0")
		}
	}
	if v := getenv("IPC_HTTP_BURST"); v != "" {
		if burst, err = strconv.Atoi(v); err != nil || burst < 1 {
			return 0, 0, 0, election.BadValue("IPC_HTTP_BURST", v, "a whole number of requests, at least 1")
		}
	}
	if v := getenv("IPC_HTTP_IDLE"); v != "" {
		// Days too, as every other period of the environment takes them.
		if idle, err = human.ParseDuration(v); err != nil || idle <= 0 {
			return 0, 0, 0, election.BadValue("IPC_HTTP_IDLE", v, "a duration above 0, such as 10m, 2h or 1d")
		}
	}
	return rate, burst, idle, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// displayAddr turns a wildcard listen address into one a person can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var _ flag.Value = (*listFlag)(nil)
