package remote

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRemoteEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://mesh.example:9877":             "https://mesh.example:9877/mcp",
		"https://mesh.example:9877/":            "https://mesh.example:9877/mcp",
		"https://mesh.example:9877/mcp":         "https://mesh.example:9877/mcp",
		"https://mesh.example:9877/mcp/":        "https://mesh.example:9877/mcp",
		" mesh.example:9877 ":                   "https://mesh.example:9877/mcp",
		"http://127.0.0.1:9877":                 "http://127.0.0.1:9877/mcp",
		"https://proxy.example/ipcmesh":         "https://proxy.example/ipcmesh/mcp",
		"https://proxy.example/ipcmesh/mcp#top": "https://proxy.example/ipcmesh/mcp",
	} {
		got, err := remoteEndpoint(in)
		if err != nil || got.String() != want {
			t.Errorf("remoteEndpoint(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":                               "no remote URL",
		"ftp://mesh.example":             "https://",
		"https://":                       "no host",
		"https://me:pw@mesh.example":     "credentials",
		"https://mesh.example/k/ipk1_x/": "holds a key",
		"https://mesh.example/sse":       "/mcp",
	} {
		_, err := remoteEndpoint(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("remoteEndpoint(%q) error %v, want one saying %q", in, err, want)
		}
	}
}

// TestBearerStaysWithTheFace: the key goes to the face's origin only, not
// to a host a redirect points at.
func TestBearerStaysWithTheFace(t *testing.T) {
	var got []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, "other:"+r.Header.Get("Authorization"))
	}))
	defer other.Close()
	face := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, "face:"+r.Header.Get("Authorization"))
		http.Redirect(w, r, other.URL, http.StatusFound)
	}))
	defer face.Close()
	origin, err := remoteEndpoint(face.URL)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &bearer{key: "k1", origin: origin, base: http.DefaultTransport}}
	resp, err := hc.Get(face.URL + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got) != 2 || got[0] != "face:Bearer k1" || got[1] != "other:" {
		t.Errorf("requests seen %q, want the key at the face only", got)
	}
}

// TestPlainHTTPToATLSFace: --remote http://... at a face that serves TLS
// is answered by Go's server with a bare 400; the error says to use the
// https:// URL.
func TestPlainHTTPToATLSFace(t *testing.T) {
	face := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer face.Close()
	plain := "http://" + strings.TrimPrefix(face.URL, "https://")
	origin, err := remoteEndpoint(plain)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &bearer{key: "k1", origin: origin, base: http.DefaultTransport}}
	resp, err := hc.Get(origin.String())
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a plain-HTTP request to a TLS face got %s, want an error", resp.Status)
	}
	for _, want := range []string{"400 Bad Request", "serves HTTPS", "https://"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
