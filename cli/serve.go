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
	fs := flags("serve")
	addr := fs.String("http", "", "serve HTTP on `ADDR` (host:port; port 0 picks a free one)")
	cert := fs.String("tls-cert", "", "serve HTTPS with the certificate in `FILE` (PEM)")
	key := fs.String("tls-key", "", "the private key of --tls-cert, in `FILE` (PEM)")
	insecure := fs.Bool("insecure", false, "allow plain HTTP on a non-loopback address (behind a TLS proxy)")
	var origins, hosts listFlag
	fs.Var(&origins, "allow-origin", "let web pages from `ORIGIN` (https://app.example) call the face; repeatable")
	fs.Var(&hosts, "allow-host", "accept Host `NAME` besides the loopback names (a tunnel's name); repeatable")
	if _, err := parse(fs, args, -1); err != nil {
		return err
	}
	if *addr == "" {
		return usagef("say where to serve: --http 127.0.0.1:8080")
	}
	if (*cert == "") != (*key == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("--http %q: want host:port, such as 127.0.0.1:8080: %v", *addr, err)
	}
	if *cert == "" && !*insecure && !isLoopback(host) {
		return fmt.Errorf("--http %s is reachable from other machines, and plain HTTP would send access keys in the clear: give --tls-cert and --tls-key, or --insecure when a TLS proxy in front of it does TLS", *addr)
	}
	var tlsConf *tls.Config
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return fmt.Errorf("load the TLS certificate %s and key %s: %w", *cert, *key, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}

	cfg, err := meshConfig(e)
	if err != nil {
		return err
	}
	opts := gateway.Options{
		Mesh:         cfg,
		AllowOrigins: origins,
		AllowHosts:   hosts,
		Version:      Version,
		Logger:       cfg.Logger,
	}
	if opts.Rate, opts.Burst, opts.Idle, err = httpLimits(e.Getenv); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w: if another program holds that port, pick another with --http HOST:PORT (port 0 picks a free one)", *addr, err)
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
	fmt.Fprintf(e.Stdout, "ipcmesh serving %s://%s (mesh %s, data folder %s); Ctrl-C stops\n", scheme, displayAddr(opts.Addr), cfg.Addr, cfg.DataDir)
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
