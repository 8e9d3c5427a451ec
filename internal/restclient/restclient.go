// Package restclient speaks the REST face (gateway) as a client program
// does: with one access key, over kept-alive connections. The benchmarks
// drive the face with it, both "ipcmesh bench" against a running face and
// the gateway's own benchmarks in one process, so both measure the same
// client.
package restclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client sends requests to the face at URL with one key.
type Client struct {
	url, key string
	hc       *http.Client
}

// New returns a client of the face at url (http://host:port) that sends
// key, keeping up to conns idle connections for reuse: as many as it will
// have requests in flight at once. With conns 0 it keeps none, and each
// request makes a connection of its own, as a client's first does.
func New(url, key string, conns int) *Client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableKeepAlives: conns == 0}
	return &Client{url: url, key: key, hc: &http.Client{Transport: tr}}
}

// Call sends one request with in, unless nil, as its JSON body and decodes
// a 2xx answer into out, unless nil; any other answer is an error.
func (c *Client) Call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = b
	}
	return c.Do(ctx, method, path, body, out)
}

// Do is Call with a body already encoded, for a caller that sends the same
// one many times and would not measure its encoding.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// SendBody is the JSON body of a send of content to to.
func SendBody(to, content string) []byte {
	b, _ := json.Marshal(outgoing{To: to, Content: content})
	return b
}

type outgoing struct {
	To      string `json:"to"`
	Content string `json:"content"`
}

// Send sends content to to.
func (c *Client) Send(ctx context.Context, to, content string) error {
	return c.Do(ctx, "POST", "/api/v1/messages", SendBody(to, content), nil)
}

// inbox is the answer of GET /api/v1/messages.
type inbox struct {
	Messages []struct {
		ID      string `json:"id"`
		From    string `json:"from"`
		Content string `json:"content"`
	} `json:"messages"`
}

// Read checks the inbox once, waiting up to wait for mail, hands each
// message's sender and content to fn, and then acks them all, as a client
// that has handled its mail does.
func (c *Client) Read(ctx context.Context, wait time.Duration, fn func(from, content string) error) error {
	var in inbox
	if err := c.Call(ctx, "GET", fmt.Sprintf("/api/v1/messages?wait=%dms", wait.Milliseconds()), nil, &in); err != nil {
		return err
	}
	if len(in.Messages) == 0 {
		return nil
	}
	ids := make([]string, len(in.Messages))
	for i, m := range in.Messages {
		ids[i] = m.ID
		if err := fn(m.From, m.Content); err != nil {
			return err
		}
	}
	return c.Call(ctx, "POST", "/api/v1/messages/ack", map[string][]string{"ids": ids}, nil)
}
