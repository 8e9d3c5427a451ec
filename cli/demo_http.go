package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/gateway"
)

// demoHTTP shows the HTTP face: a key for "human", a message posted over
// REST as a browser page or curl would, and builder reading it. The face
// runs in this process, as `ipcmesh serve --http` would run it, until stop
// is called.
func (d *demo) demoHTTP(ctx context.Context, builder *election.Peer) (stop func(), err error) {
	cfg, err := election.FromEnv(d.getenv)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the HTTP face: %w", err)
	}
	gw, err := gateway.New(ctx, gateway.Options{Mesh: cfg, Addr: ln.Addr().String(), Version: Version})
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{}
	gw.ConfigureServer(srv)
	go srv.Serve(ln)
	// A local, not the named result: a failed step returns nil for stop,
	// and the face it started must still be stopped.
	closeFace := func() {
		srv.Close()
		gw.Close()
	}
	defer func() {
		if err != nil {
			closeFace()
		}
	}()
	base := "http://" + ln.Addr().String()
	d.say("   the HTTP face serves %s (REST, events, MCP at /mcp, the web page)", base)

	k, err := builder.CreateKey(ctx, "human", "demo")
	if err != nil {
		return nil, err
	}
	d.say("   ipcmesh key create human -> %s...  (a bearer key that acts as human and nobody else)", k.Key[:21])

	body, _ := json.Marshal(map[string]string{"to": "builder", "content": "hello from a person in the browser"})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/messages", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post over HTTP: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("post over HTTP: %s", resp.Status)
	}
	d.say("   POST /api/v1/messages {\"to\":\"builder\",...} -> %s", resp.Status)
	return closeFace, d.read(ctx, builder, "builder")
}
