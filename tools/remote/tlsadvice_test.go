package remote_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools/remote"
)

// selfSigned is a certificate for 127.0.0.1 valid until notAfter, and a
// client that trusts it.
func selfSigned(t *testing.T, notAfter time.Time) (tls.Certificate, *http.Client) {
	t.Helper()
	c := testbin.SelfSigned(t, notAfter.Add(-48*time.Hour), notAfter)
	return c.TLS(t), &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.Pool()}}}
}

// A face whose certificate does not verify is named with what to do for
// the reason it does not: a CA to give only when none was given, and
// otherwise a CA that signs it, a certificate within its dates, or a
// host name the certificate holds.
func TestUntrustedCertificateAdvice(t *testing.T) {
	nothing := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

	expired := httptest.NewUnstartedServer(nothing)
	cert, trusting := selfSigned(t, time.Now().Add(-time.Hour))
	expired.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	expired.StartTLS()
	defer expired.Close()
	got := bridgeFails(t, remote.Options{URL: expired.URL, Key: mcptest.Key, HTTPClient: trusting, CA: "--ca face.pem"})
	mcptest.Contains(t, "expired certificate", got, "not trusted", "expired", "give it a new one")
	mcptest.NotContains(t, "expired certificate", got, "pass its CA")

	face := httptest.NewTLSServer(nothing)
	defer face.Close()
	_, other := selfSigned(t, time.Now().Add(time.Hour))
	got = bridgeFails(t, remote.Options{URL: face.URL, Key: mcptest.Key, HTTPClient: other, CA: "--ca other.pem"})
	mcptest.Contains(t, "a CA that does not sign it", got, "not trusted", "the CA of --ca other.pem does not sign it")
	mcptest.NotContains(t, "a CA that does not sign it", got, "pass its CA")

	// httptest's certificate holds 127.0.0.1 and example.com, not
	// localhost.
	byName := strings.Replace(face.URL, "127.0.0.1", "localhost", 1)
	got = bridgeFails(t, remote.Options{URL: byName, Key: mcptest.Key, HTTPClient: face.Client(), CA: "--ca face.pem"})
	mcptest.Contains(t, "another host name", got, "not trusted", "localhost", "give --remote a host name the certificate holds")

	got = bridgeFails(t, remote.Options{URL: face.URL, Key: mcptest.Key})
	mcptest.Contains(t, "no CA given", got, "not trusted", "pass its CA with --ca FILE")
}
