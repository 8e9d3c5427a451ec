package gateway

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/ipcmesh/ipcmesh"
)

// webFiles is the web page: web/index.html at /, the files beside it at
// /NAME (the page refers to them relative to itself, which also works under
// /k/KEY/) and at /static/NAME, with web/static/NAME served first there.
//
//go:embed web
var webFiles embed.FS

// pageCSP lets the page load only its own files and call only its own
// face: it shows messages written by other programs, and no text in them
// may run as script or send anything elsewhere. Styles come from
// style.css alone (the script sets its few by the CSSOM, which the policy
// does not govern), so markup that got in could not restyle the page to
// pass for its own words; and no form is ever submitted, so none can put
// the key it holds into a URL, where history and logs would keep it.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"

func (s *Server) registerPage() {
	s.mux.Handle("GET /{$}", http.HandlerFunc(s.servePage))
	s.mux.Handle("GET /{file}", http.HandlerFunc(s.serveStatic))
	s.mux.Handle("GET /static/", http.HandlerFunc(s.serveStatic))
}

func web() fs.FS {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic("gateway: the embedded web folder is missing: " + err.Error()) // a build fault, not a run-time one
	}
	return sub
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	s.serveWebFile(w, r, "index.html")
}

// serveStatic serves /NAME from web/NAME, and /static/NAME from
// web/static/NAME or else web/NAME: the page's files may sit in either
// place.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	tries := []string{strings.TrimPrefix(r.URL.Path, "/")}
	if name, ok := strings.CutPrefix(r.URL.Path, "/static/"); ok {
		tries = []string{"static/" + name, name}
	}
	for _, try := range tries {
		if fs.ValidPath(try) {
			if st, err := fs.Stat(web(), try); err == nil && !st.IsDir() {
				s.serveWebFile(w, r, try)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, ipcmesh.Errorf(ipcmesh.CodeNotFound, "no file %s", truncate(r.URL.Path, 100)))
}

func (s *Server) serveWebFile(w http.ResponseWriter, r *http.Request, name string) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-cache") // revalidate: a new build must not run an old page
	http.ServeFileFS(w, r, web(), name)
}
