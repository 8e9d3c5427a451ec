package gateway

import (
	"slices"
	"strings"
	"testing"
)

// The page's Content-Security-Policy, directive by directive: what the
// page shows comes from other programs, and the policy is what stops it
// if any of it ever got in as markup.
func TestPagePolicy(t *testing.T) {
	f := newFace(t, nil)
	for _, path := range []string{"/", "/app.js", "/style.css", "/static/app.js"} {
		resp, _ := f.do(req{method: "GET", path: path})
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		csp := map[string][]string{}
		for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
			if fields := strings.Fields(d); len(fields) > 0 {
				csp[fields[0]] = fields[1:]
			}
		}
		want := map[string][]string{
			// Only the page's own script and style: no inline script, and
			// no inline style, which injected markup could use to pass
			// for the page's own words.
			"script-src": {"'self'"},
			"style-src":  {"'self'"},
			// Calls go to the face alone.
			"connect-src": {"'self'"},
			// The page is framed by no site (clickjacking).
			"frame-ancestors": {"'none'"},
			// No form is ever submitted: the sign-in form's key never
			// goes into a URL.
			"form-action": {"'none'"},
			"base-uri":    {"'none'"},
			"object-src":  {"'none'"},
		}
		for name, v := range want {
			if !slices.Equal(csp[name], v) {
				t.Errorf("GET %s: Content-Security-Policy %s is %q, want %q", path, name, csp[name], v)
			}
		}
		for name, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(name); got != v {
				t.Errorf("GET %s: %s is %q, want %q", path, name, got, v)
			}
		}
	}
}
