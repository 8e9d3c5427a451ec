package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/ipcmesh/ipcmesh/tools/remote"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// runMCP serves the MCP tools over stdin and stdout until stdin closes.
// Stdout carries MCP and nothing else: logs go to stderr (level IPC_LOG).
//
// With --remote URL it serves them from a mesh on another machine instead,
// through that mesh's HTTP face (ipcmesh serve --http), acting as the name
// the key in IPC_KEY or --key-file is bound to.
func runMCP(ctx context.Context, e Env, args []string) error {
	fs := flags("mcp")
	remote := fs.String("remote", "", "the HTTP face of a mesh on another machine: `URL` as https://HOST:PORT")
	keyFile := fs.String("key-file", "", "a `FILE` holding the key for --remote (else IPC_KEY)")
	caFile := fs.String("ca", "", "a PEM CA certificate in `FILE` to trust for --remote (else IPC_CA_FILE)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("mcp takes no arguments: configure it with IPC_* environment variables, or --remote URL")
	}
	if *remote != "" {
		return runRemoteMCP(ctx, e, *remote, *keyFile, *caFile)
	}
	if *keyFile != "" || *caFile != "" {
		return usagef("--key-file and --ca go with --remote URL")
	}
	cfg, err := meshConfig(e)
	if err != nil {
		return err
	}
	log := cfg.Logger
	srv := tools.New(tools.Options{
		Mesh:    cfg,
		Name:    e.Getenv("IPC_NAME"),
		Session: e.Getenv(claudeSession),
		Version: Version,
		Logger:  log,
	})
	maxMsg := cfg.MessageLimit()
	hint := fmt.Sprintf("a message may be at most %s (IPC_MAX_MESSAGE_BYTES); write a larger text to a file and send its path", human.Size(maxMsg))
	return srv.Run(ctx, stdio(e, mcpLineLimit(maxMsg), hint, log))
}

// runRemoteMCP bridges stdio to the HTTP face at url.
func runRemoteMCP(ctx context.Context, e Env, url, keyFile, caFile string) error {
	key, err := remoteKey(e, keyFile)
	if err != nil {
		return err
	}
	caFrom := "--ca"
	if caFile == "" {
		caFile, caFrom = e.Getenv("IPC_CA_FILE"), "IPC_CA_FILE"
	}
	client, err := remoteClient(caFile, caFrom)
	if err != nil {
		return err
	}
	ca := ""
	switch {
	case caFile == "":
	case caFrom == "--ca":
		ca = "--ca " + caFile
	default:
		ca = caFrom + "=" + caFile
	}
	log := logger(e)
	return remote.Serve(ctx, remote.Options{
		URL:        url,
		Key:        key,
		HTTPClient: client,
		CA:         ca,
		Name:       e.Getenv("IPC_NAME"),
		Version:    Version,
		Logger:     log,
	}, stdio(e, mcpLineLimit(0), "write a large text to a file and send its path", log))
}

// remoteKey is the key from --key-file, or else from IPC_KEY. The file
// keeps the key out of the assistant's MCP configuration, which is often
// shared or checked in.
func remoteKey(e Env, keyFile string) (string, error) {
	if keyFile != "" {
		b, err := readPathSetting("--key-file", keyFile)
		if err != nil {
			return "", fmt.Errorf("read the key: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("the key file %s is empty: put the key from `ipcmesh key create NAME` in it", keyFile)
		}
		warnReadable(e.Stderr, "--key-file", election.ExpandHome(keyFile), "whoever reads it acts as the key's name")
		return key, nil
	}
	if key := strings.TrimSpace(e.Getenv("IPC_KEY")); key != "" {
		return key, nil
	}
	return "", errors.New("--remote needs a key: set IPC_KEY or pass --key-file FILE (make one with `ipcmesh key create NAME` on the mesh's machine)")
}

// readPathSetting reads the file that from, a flag (--ca) or a variable of
// the environment (IPC_CA_FILE), names. An assistant starts the bridge
// in a folder of its own choosing, usually the project's, so a relative
// path that works in the shell that wrote the config finds nothing there:
// the error names that folder and asks for an absolute path, which is
// all the assistant shows of it in its MCP log. A path that begins with
// "~" is taken from the home folder, as a shell would: a JSON config
// passes "~/.ipcmesh-key" on as it is, and no file is named so.
func readPathSetting(from, path string) ([]byte, error) {
	path = election.ExpandHome(path)
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	// The system's words name the path but not the setting that gave
	// it, which is what the user must change.
	given := from + " " + path
	if !strings.HasPrefix(from, "-") {
		given = from + "=" + path
	}
	if !errors.Is(err, os.ErrNotExist) {
		if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
			return nil, fmt.Errorf("%s is a folder: give %s the file itself", given, from)
		}
		return nil, fmt.Errorf("%s: %w: give %s a file this user can read", given, err, from)
	}
	if !filepath.IsAbs(path) {
		wd, wdErr := os.Getwd()
		if wdErr != nil {
			wd = "the current folder"
		}
		return nil, fmt.Errorf("%s: no such file in %s, the folder this ipcmesh was started in: an assistant starts it in a folder of its own, so give %s an absolute path: %w", given, wd, from, err)
	}
	return nil, fmt.Errorf("%s: no such file: check the path %s gives: %w", given, from, err)
}

// remoteClient is the HTTP client for the face: the default one, trusting
// caFile's certificates too when it is set (a face with a self-signed
// certificate). from names the setting that gave caFile, --ca or
// IPC_CA_FILE, for the errors.
func remoteClient(caFile, from string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := readPathSetting(from, caFile)
	if err != nil {
		return nil, fmt.Errorf("read the CA certificate: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool() // no system pool (some platforms): the CA alone
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the CA file %s, given by %s, holds no PEM certificate", caFile, from)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

// stdio is the MCP transport over the command's stdin and stdout. A line
// of stdin over maxLine is refused in its place, with hint, rather than
// ending the session. Stdout stays open when the session ends: it is not
// the transport's to close.
func stdio(e Env, maxLine int, hint string, log *slog.Logger) mcp.Transport {
	in, out := guardLines(e.Stdin, e.Stdout, maxLine, hint, log)
	return &mcp.IOTransport{
		Reader: readCloser{in, e.Stdin},
		Writer: out,
		// The guard keeps every line within maxLine.
		MaxLineLength: -1,
	}
}

// readCloser reads through the guard and lets the transport close stdin
// when the session ends, when it can be closed.
type readCloser struct {
	*lineGuard
	stdin io.Reader
}

func (r readCloser) Close() error {
	r.lineGuard.Close()
	if c, ok := r.stdin.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
