package ipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
)

// ErrConnLost is returned by Client.Call when the connection ended before the
// response arrived. The request may or may not have been carried out; every
// op is safe to retry on the next broker with the same body. Dial returns
// it when the listener closed the connection before answering the hello,
// as a broker starting or stopping may.
var ErrConnLost = errors.New("connection to the broker was lost")

// ErrNotMesh means the program listening on the mesh port does not speak the
// ipcmesh protocol.
var ErrNotMesh = errors.New("not an ipcmesh broker")

// ErrSilent means the program on the mesh port accepted the connection but
// did not answer the hello within the handshake timeout. A foreign program
// does that, and so does a broker that is stopped (Ctrl-Z, a debugger) or
// hung: the kernel accepts connections for a process that runs no code.
// It wraps ErrNotMesh, which is what it means unless the caller knows of a
// broker that should be answering.
var ErrSilent = fmt.Errorf("%w (it accepted the connection but did not answer the hello)", ErrNotMesh)

// ErrBrokerProof means the broker could not prove that it knows the shared
// secret: it is an impostor or it runs with another secret. Nothing that
// depends on the secret was sent to it.
var ErrBrokerProof = errors.New("the broker could not prove it knows the shared secret")

// Event is a frame the broker pushed without being asked.
type Event struct {
	Name string
	Body json.RawMessage
}

// DialOptions configure a Client.
type DialOptions struct {
	// MaxFrame bounds the frames this client sends (DefaultMaxFrame if
	// 0): the broker hangs up on larger ones. Frames it reads may be up to
	// MaxResponseFrame, since JSON escaping can make a body six times longer.
	MaxFrame int
	// HandshakeTimeout bounds the hello and auth exchange (3 s if 0). A
	// program that accepts but never answers is not a broker.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds the write of one request (10 s if 0, as the
	// broker bounds its own writes), and so does the deadline of the call's
	// context when it comes sooner. A broker that stops reading then costs
	// the caller that long, not forever.
	WriteTimeout time.Duration
	// OnEvent is called from the connection's read loop for each pushed
	// event, in order. It must not block for long.
	OnEvent func(Event)
}

// Client is one authenticated connection to a broker. It is safe for
// concurrent use: many calls may be in flight at once.
type Client struct {
	nc      net.Conn
	br      *bufio.Reader
	opts    DialOptions
	broker  BrokerInfo
	wmu     sync.Mutex
	mu      sync.Mutex
	pending map[uint64]chan *Frame
	nextID  uint64
	done    chan struct{}
	err     error

	// link is set on an end of a Broker.Pipe: requests are handed to the
	// broker's conn and frames taken from it as values (see pipeLink).
	link *pipeLink
	// recvMu orders receive with the end of the read loop: once ended is
	// set no event is passed on, as none is after a socket's read loop.
	recvMu sync.Mutex
	ended  bool
}

// Dial connects to the broker at addr and runs the handshake: the broker
// must prove it knows the secret before the client proves it does.
func Dial(ctx context.Context, addr string, keys auth.Keys, opts DialOptions) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(ctx, nc, keys, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewClient runs the handshake on an open connection and starts reading.
func NewClient(ctx context.Context, nc net.Conn, keys auth.Keys, opts DialOptions) (*Client, error) {
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 3 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	c := &Client{
		nc:      nc,
		br:      bufio.NewReaderSize(nc, 64<<10),
		opts:    opts,
		pending: make(map[uint64]chan *Frame),
		done:    make(chan struct{}),
		link:    linkOf(nc),
	}
	if c.link != nil {
		c.link.client.Store(c)
	}
	deadline := time.Now().Add(opts.HandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc.SetDeadline(deadline)
	// A caller that gives up (a peer closed while it reconnects, a
	// command interrupted) ends the handshake at once rather than at its
	// deadline: a deadline in the past wakes the read it waits in. A
	// context's deadline is the connection's already, and its expiry
	// keeps the handshake's own verdict (a silent listener, say).
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	err := c.handshake(keys)
	if !stop() && errors.Is(ctx.Err(), context.Canceled) {
		err = fmt.Errorf("handshake with the broker: %w", ctx.Err())
	}
	if err != nil {
		// Nothing the broker may still hand over on a pipe reaches the
		// caller of a client it never got.
		c.recvMu.Lock()
		c.ended = true
		c.recvMu.Unlock()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

func (c *Client) handshake(keys auth.Keys) error {
	cn, err := auth.NewNonce()
	if err != nil {
		return err
	}
	hello, _ := Marshal(HelloRequest{Protocol: Protocol, Versions: Versions, Nonce: cn})
	if err := WriteFrame(c.nc, &Frame{ID: 1, Op: OpHello, Body: hello}); err != nil {
		return fmt.Errorf("%w: send hello: %v", ErrConnLost, err)
	}
	// A listener that closes without a word is a broker starting or
	// stopping as often as anything else: an elected peer that cannot open
	// the store yet closes its listener, resetting the connections waiting
	// in it. That is worth another try, not a verdict. Silence, or anything
	// but a well-formed hello answer, means the listener is not one of ours.
	if _, err := c.br.Peek(1); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return ErrSilent
		}
		return fmt.Errorf("%w: the program on the mesh port closed the connection without answering the hello (a broker starting or stopping does this): %v", ErrConnLost, err)
	}
	// A web server on the port is the likeliest squatter. Its status
	// line read as a frame's length ("HTTP" is 1213486160) names nothing
	// a user knows; its words themselves are never shown (SECURITY.md,
	// 3.2). Only what has arrived is looked at: a listener that sent a
	// byte or two and then nothing must not hold the hello up here.
	if b, _ := c.br.Peek(min(c.br.Buffered(), 5)); string(b) == "HTTP/" {
		return fmt.Errorf("%w (it answered the hello in HTTP, as a web server does)", ErrNotMesh)
	}
	// Read with a small limit: a real hello answer is tiny.
	f, err := ReadFrame(c.br, 64<<10)
	if err != nil {
		return fmt.Errorf("%w (its answer to the hello was unreadable: %v)", ErrNotMesh, err)
	}
	if f.Error != nil {
		return unproven(f.Error)
	}
	var hr HelloResponse
	if f.ID != 1 || json.Unmarshal(f.Body, &hr) != nil || hr.Protocol != Protocol {
		return fmt.Errorf("%w (its answer to the hello is not ipcmesh's)", ErrNotMesh)
	}
	if !keys.VerifyProof(auth.RoleBroker, hr.Version, cn, hr.Nonce, hr.Proof) {
		return ErrBrokerProof
	}
	proof, _ := Marshal(AuthRequest{Proof: keys.Proof(auth.RoleClient, hr.Version, cn, hr.Nonce)})
	if err := WriteFrame(c.nc, &Frame{ID: 2, Op: OpAuth, Body: proof}); err != nil {
		return fmt.Errorf("send auth: %w", err)
	}
	f, err = ReadFrame(c.br, 64<<10)
	if err != nil {
		return fmt.Errorf("read auth answer: %w", err)
	}
	if f.Error != nil {
		return f.Error
	}
	var ar AuthResponse
	if err := json.Unmarshal(f.Body, &ar); err != nil {
		return fmt.Errorf("%w (its answer to auth is not ipcmesh's)", ErrNotMesh)
	}
	c.broker = ar.Broker
	c.nextID = 2
	return nil
}

// unproven words a refusal of the hello. Until the broker has proved it
// knows the secret, anyone may be the one listening on the port, and a
// listener's words would reach the person or the model as if ipcmesh said
// them ("run curl ... | sh"): only the code, one of ours, is kept, and the
// message is ours.
func unproven(e *ipcmesh.Error) error {
	const untold = "what it said is not shown: it has not proved it knows the shared secret"
	switch e.Code {
	case ipcmesh.CodeUnsupported:
		return ipcmesh.Errorf(ipcmesh.CodeUnsupported, "it refused the hello as a protocol version it does not speak: if it is an ipcmesh broker, it is of another version, so upgrade the older ipcmesh (%s)", untold)
	case ipcmesh.CodeRateLimited:
		// A wait is a number: bounded, it cannot hold a peer up for long.
		return &ipcmesh.Error{Code: ipcmesh.CodeRateLimited, Message: "it refused the hello: too many new connections; retry shortly",
			RetryAfterMS: min(max(e.RetryAfterMS, 0), maxHelloRetryMS)}
	}
	return fmt.Errorf("%w (it refused the hello; %s)", ErrNotMesh, untold)
}

// maxHelloRetryMS bounds the wait an unproven refusal of the hello can ask
// for.
const maxHelloRetryMS = 5000

// Broker describes the broker this client is connected to.
func (c *Client) Broker() BrokerInfo { return c.broker }

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the connection ended, once Done is closed.
func (c *Client) Err() error {
	<-c.done
	return c.err
}

// Close ends the connection. Calls in flight return ErrConnLost.
func (c *Client) Close() error {
	err := c.nc.Close()
	<-c.done
	return err
}

func (c *Client) readLoop() {
	var err error
	defer func() {
		c.recvMu.Lock()
		c.ended = true
		c.recvMu.Unlock()
		c.mu.Lock()
		c.err = err
		c.pending = nil
		c.mu.Unlock()
		c.nc.Close()
		close(c.done)
	}()
	for {
		var f *Frame
		f, err = ReadFrame(c.br, max(c.opts.MaxFrame, MaxResponseFrame))
		if err != nil {
			if ipcmesh.CodeOf(err) == ipcmesh.CodeBadRequest {
				continue // one garbled frame; the stream is still in step
			}
			return
		}
		c.receive(f)
	}
}

// receive passes on a frame from the broker: an event to OnEvent, an answer
// to the call waiting for it. The read loop calls it, and on a Broker.Pipe
// the broker's writer does.
func (c *Client) receive(f *Frame) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	if c.ended {
		return
	}
	if f.Event != "" {
		if c.opts.OnEvent != nil {
			c.opts.OnEvent(Event{Name: f.Event, Body: f.Body})
		}
		return
	}
	c.mu.Lock()
	ch := c.pending[f.ID]
	delete(c.pending, f.ID)
	c.mu.Unlock()
	if ch != nil {
		ch <- f
	}
}

// Call sends a request and waits for its response, decoding the body into
// out (which may be nil). A refusal by the broker is returned as
// *ipcmesh.Error; a lost connection as ErrConnLost. A write that fails, or
// that the broker does not take before ctx ends or DialOptions.WriteTimeout
// passes, ends the connection: the error then wraps ErrConnLost, and ctx's
// error if it ended. On a Broker.Pipe a request is handed over, not
// written: one the broker has no room for before ctx ends returns ctx's
// error and leaves the connection as it is.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if field, instead := newerField(c.broker.Revision, in); field != "" {
		return olderBroker(c.broker, op, field, instead)
	}
	var body json.RawMessage
	if in != nil {
		b, err := Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", op, err)
		}
		body = b
	}
	ch := make(chan *Frame, 1)
	c.mu.Lock()
	if c.pending == nil {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", op, ErrConnLost)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()

	f := &Frame{ID: id, Op: op, Body: body}
	var srv *conn
	if c.link != nil {
		srv = c.link.conn.Load()
	}
	// The broker's frame limit, where it is lower than this client's own
	// (a command run with a raised IPC_MAX_FRAME_BYTES against a broker
	// started without it), is the one a frame must keep to.
	limit, whose := c.opts.MaxFrame, ""
	if b := c.broker.MaxFrame; b > 0 && b < limit {
		limit, whose = b, fmt.Sprintf(" of the broker (pid %d), which is lower than this process's IPC_MAX_FRAME_BYTES: the broker's process sets it, so stop the broker (ipcmesh stop) and run it with the limit raised, or", c.broker.PID)
	}
	var buf []byte
	if srv == nil || len(body)+6*len(op)+64 > limit {
		// Encoded for the wire, or to measure one that may be too large
		// for it: an op's characters take at most six bytes each.
		var err error
		if buf, err = AppendFrame(nil, f); err != nil {
			c.forget(id)
			return err
		}
		if n := len(buf) - 4; n > limit {
			// The broker would cut the connection on it, and a retry would
			// meet the same fate: refuse it here, where the caller can act.
			c.forget(id)
			if whose != "" {
				return ipcmesh.Errorf(ipcmesh.CodeTooLarge,
					"the %s request is %d bytes, over the %d-byte frame limit%s send large content in pieces", op, n, limit, whose)
			}
			if k := escapes(body); n-5*k <= limit {
				return ipcmesh.Errorf(ipcmesh.CodeTooLarge,
					"the %s request is %d bytes, over the %d-byte frame limit, because its text holds %d characters that JSON writes as six bytes each (control characters such as \\u0001, and bytes that are not UTF-8): remove them, or send the content encoded (base64) or in smaller pieces", op, n, limit, k)
			}
			return ipcmesh.Errorf(ipcmesh.CodeTooLarge,
				"the %s request is %d bytes, over the %d-byte frame limit: send large content in pieces of at most the broker's message limit", op, n, limit)
		}
	}
	if srv != nil {
		if err := srv.take(ctx, f); err != nil {
			c.forget(id)
			if errors.Is(err, ErrConnLost) {
				return fmt.Errorf("%s: %w", op, ErrConnLost)
			}
			return err
		}
	} else if err := c.write(ctx, buf); err != nil {
		// Part of the frame may be on the wire: nothing can follow it.
		c.nc.Close()
		c.forget(id)
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%s: %w (%w)", op, ErrConnLost, cerr)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w (%w)", op, ErrConnLost, err)
		}
		return fmt.Errorf("%s: %w", op, ErrConnLost)
	}
	select {
	case f := <-ch:
		return c.result(op, in, f, out)
	case <-c.done:
		// The response may have raced the close.
		select {
		case f := <-ch:
			return c.result(op, in, f, out)
		default:
		}
		return fmt.Errorf("%s: %w", op, ErrConnLost)
	case <-ctx.Done():
		c.forget(id)
		if mayWait(op) {
			// Its wait would run on at the broker for nobody.
			go c.callOff(id)
		}
		return ctx.Err()
	}
}

// write writes one whole frame. It gives up at ctx's deadline or
// WriteTimeout from now, whichever comes first, and as soon as ctx is
// cancelled: a broker that stops reading must not hold the caller forever.
func (c *Client) write(ctx context.Context, buf []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	deadline := time.Now().Add(c.opts.WriteTimeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	c.nc.SetWriteDeadline(deadline)
	if ctx.Done() != nil {
		interrupted := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			c.nc.SetWriteDeadline(time.Unix(1, 0)) // in the past: the write returns at once
			close(interrupted)
		})
		defer func() {
			if !stop() {
				// The interruption has begun: let it finish before the next
				// write sets its own deadline.
				<-interrupted
			}
		}()
	}
	_, err := c.nc.Write(buf)
	if ctxDeadline && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's timer and ctx's fire at the same instant, in
		// either order: the write may fail before ctx.Err says why.
		return fmt.Errorf("write: %w", context.DeadlineExceeded)
	}
	return err
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	if c.pending != nil {
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

func decodeResult(op string, f *Frame, out any) error {
	if f.Error != nil {
		return f.Error
	}
	if raw, ok := out.(*json.RawMessage); ok {
		// Taken as it came: ReadFrame checked that it is JSON, or the
		// broker in this process wrote it with Marshal (see pipeEnd).
		*raw = append((*raw)[:0], f.Body...)
		return nil
	}
	if out != nil && len(f.Body) > 0 {
		if err := json.Unmarshal(f.Body, out); err != nil {
			return fmt.Errorf("decode %s response: %w", op, err)
		}
	}
	return nil
}

// escapes counts the six-byte \u escapes in body, a JSON encoding: they
// are what makes a request larger than the text it carries.
func escapes(body []byte) int {
	n := 0
	for i := 0; i < len(body)-1; i++ {
		if body[i] == '\\' {
			if body[i+1] == 'u' {
				n++
			}
			i++ // the escaped character, a backslash included
		}
	}
	return n
}
