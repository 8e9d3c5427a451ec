package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/gateway"
)

// runServe runs a peer of the mesh with the HTTP face: REST, events, MCP
// over HTTP and the web page (docs/HTTP.md). Like any peer it joins the
// local mesh, or hosts the broker when none runs, and hands it over when it
// stops.
func runServe(ctx context.Context, e Env, args []string) (err error) {
	f, err := parseServe(args)
	if err != nil {
		return err
	}
	tlsConf, err := f.tlsConfig()
	if err != nil {
		return err
	}
	opts, err := f.gatewayOptions(e)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w: if another program holds that port, pick another with --http HOST:PORT (port 0 picks a free one)", f.addr, err)
	}
	defer ln.Close()
	opts.Addr = ln.Addr().String()
	gw, err := gateway.New(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := gw.Close(); err == nil {
			err = cerr
		}
	}()
	return serveHTTP(ctx, e, gw, ln, tlsConf, opts)
}

// serveFlags are the flags of serve.
type serveFlags struct {
	addr, cert, key string
	insecure        bool
	origins, hosts  listFlag
	store           storeFlags
}

// parseServe reads the flags of serve and checks that they go together,
// and that plain HTTP is only served where no other machine can listen in.
func parseServe(args []string) (*serveFlags, error) {
	var f serveFlags
	fs := flags("serve")
	fs.StringVar(&f.addr, "http", "", "serve HTTP on `ADDR` (host:port; port 0 picks a free one)")
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with the certificate in `FILE` (PEM)")
	fs.StringVar(&f.key, "tls-key", "", "the private key of --tls-cert, in `FILE` (PEM)")
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP on a non-loopback address (behind a TLS proxy)")
	fs.Var(&f.origins, "allow-origin", "let web pages from `ORIGIN` (https://app.example) call the face; repeatable")
	fs.Var(&f.hosts, "allow-host", "accept Host `NAME` besides the loopback names (a tunnel's name); repeatable")
	f.store.register(fs, false)
	if _, err := parse(fs, args); err != nil {
		return nil, err
	}
	if f.addr == "" {
		return nil, usagef("say where to serve: --http 127.0.0.1:8080")
	}
	if (f.cert == "") != (f.key == "") {
		return nil, usagef("--tls-cert and --tls-key go together")
	}
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		return nil, usagef("--http %q: want host:port, such as 127.0.0.1:8080: %v", f.addr, err)
	}
	if f.cert == "" && !f.insecure && !isLoopback(host) {
		return nil, fmt.Errorf("--http %s is reachable from other machines, and plain HTTP would send access keys in the clear: give --tls-cert and --tls-key, or --insecure when a TLS proxy in front of it does TLS", f.addr)
	}
	return &f, nil
}

// tlsConfig is the TLS of --tls-cert and --tls-key, or nil for plain HTTP.
func (f *serveFlags) tlsConfig() (*tls.Config, error) {
	if f.cert == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate %s and key %s: %w", f.cert, f.key, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// gatewayOptions are the options of the HTTP face over the mesh the
// environment describes, with its limits; the caller sets the address.
func (f *serveFlags) gatewayOptions(e Env) (gateway.Options, error) {
	cfg, err := meshConfig(e)
	if err != nil {
		return gateway.Options{}, err
	}
	if err := f.store.apply(&cfg); err != nil {
		return gateway.Options{}, err
	}
	opts := gateway.Options{
		Mesh:         cfg,
		AllowOrigins: f.origins,
		AllowHosts:   f.hosts,
		Version:      Version,
		Logger:       cfg.Logger,
	}
	if opts.Rate, opts.Burst, opts.Idle, err = httpLimits(e.Getenv); err != nil {
		return gateway.Options{}, err
	}
	return opts, nil
}

// serveHTTP serves the face gw on ln (over TLS when tlsConf is set) until
// ctx is done, then shuts the server down, waiting a while for its
// handlers.
func serveHTTP(ctx context.Context, e Env, gw *gateway.Server, ln net.Listener, tlsConf *tls.Config, opts gateway.Options) error {
	srv := &http.Server{
		Handler:           gw.Handler(),
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: event streams and long waits stay open.
		IdleTimeout: 2 * time.Minute,
	}
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
		if rate, err = strconv.ParseFloat(v, 64); err != nil || rate <= 0 {
			return 0, 0, 0, fmt.Errorf("IPC_HTTP_RATE=%q: want requests a second per key, a number above 0", v)
		}
	}
	if v := getenv("IPC_HTTP_BURST"); v != "" {
		if burst, err = strconv.Atoi(v); err != nil || burst < 1 {
			return 0, 0, 0, fmt.Errorf("IPC_HTTP_BURST=%q: want a whole number of requests, at least 1", v)
		}
	}
	if v := getenv("IPC_HTTP_IDLE"); v != "" {
		if idle, err = time.ParseDuration(v); err != nil || idle <= 0 {
			return 0, 0, 0, fmt.Errorf("IPC_HTTP_IDLE=%q: want a duration such as 10m", v)
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
