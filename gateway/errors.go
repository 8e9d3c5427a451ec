package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
)

// notAnsweringRetry is the Retry-After of a call the broker did not
// answer: long enough for a person to resume or kill it.
const notAnsweringRetry = 5 * time.Second

// errorBody is the JSON of every error answer: the mesh's own error object,
// so a client switches on the same codes as over the TCP protocol.
type errorBody struct {
	Error *ipcmesh.Error `json:"error"`
}

// statusOf maps a mesh error code to its HTTP status (docs/HTTP.md).
func statusOf(code ipcmesh.Code) int {
	switch code {
	case ipcmesh.CodeBadRequest, ipcmesh.CodeInvalidName, ipcmesh.CodeUnknownOp, ipcmesh.CodeUnsupported:
		return http.StatusBadRequest
	case ipcmesh.CodeUnauthorized:
		return http.StatusUnauthorized
	case ipcmesh.CodeNotRegistered, ipcmesh.CodeNameTaken, ipcmesh.CodeConflict, ipcmesh.CodeRenameLoop, ipcmesh.CodeRenamed:
		return http.StatusConflict
	case ipcmesh.CodeNotFound:
		return http.StatusNotFound
	case ipcmesh.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case ipcmesh.CodeInboxFull:
		return http.StatusInsufficientStorage
	case ipcmesh.CodeRateLimited:
		return http.StatusTooManyRequests
	case ipcmesh.CodeShuttingDown, ipcmesh.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// meshError turns err into the error a client is shown. ctx is the
// request's context: a call cut short by it failed for the reason it was
// cancelled (a revoked key, the face closing), not for "context canceled".
// ok is false for a fault of the face or the broker that is no mesh error:
// the client gets a plain internal error and the log gets the details.
func meshError(ctx context.Context, err error) (e *ipcmesh.Error, ok bool) {
	if errors.Is(err, election.ErrAnswerLost) && ctx.Err() == nil {
		// The request may have been carried out: the client must know
		// that its Idempotency-Key, sent again, has it done once.
		return &ipcmesh.Error{Code: ipcmesh.CodeUnavailable, RetryAfterMS: notAnsweringRetry.Milliseconds(),
			Message: err.Error() + "; sent again with the same Idempotency-Key, a send is stored once"}, true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if errors.As(context.Cause(ctx), &e) {
			return e, true
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return ipcmesh.Errorf(ipcmesh.CodeShuttingDown, "the mesh did not answer in time: retry shortly"), true
		}
		if ctx.Err() != nil {
			// The client hung up: nobody reads this answer.
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request was cancelled"), true
		}
	}
	if errors.As(err, &e) {
		return e, true
	}
	if errors.Is(err, election.ErrClosed) {
		return errClosing, true
	}
	if errors.Is(err, election.ErrNotAnswering) {
		// The message names the stopped broker and what frees it: the
		// client's user can act on it, so it is shown, not logged away.
		return &ipcmesh.Error{Code: ipcmesh.CodeUnavailable, Message: err.Error(), RetryAfterMS: notAnsweringRetry.Milliseconds()}, true
	}
	if errors.Is(err, election.ErrUnreachable) {
		// The mesh is down behind the face, which is no fault of the
		// face's, and may be back within a second. Why is for the user of
		// the face's machine, in words that name its files: the log.
		return &ipcmesh.Error{Code: ipcmesh.CodeUnavailable, RetryAfterMS: notAnsweringRetry.Milliseconds(),
			Message: "no broker serves the mesh behind this HTTP face now, and the face can neither reach nor start one (its log says why); it tries again every second"}, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit), true
	}
	return ipcmesh.Errorf(ipcmesh.CodeInternal, "the HTTP face failed to serve this request; its log says why"), false
}

// fail answers r with err as a JSON error, logging what is not a mesh
// error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := meshError(r.Context(), err)
	if !ok {
		s.log.Error("http request failed", "method", r.Method, "path", logPath(r.URL.Path), "key_id", infoOf(r).keyID, "err", err)
	}
	status := statusOf(e.Code)
	if e == errBodyTimeout {
		status = http.StatusRequestTimeout
	}
	writeError(w, status, e)
}

// writeError writes e with status and the headers its code calls for.
func writeError(w http.ResponseWriter, status int, e *ipcmesh.Error) {
	h := w.Header()
	switch e.Code {
	case ipcmesh.CodeUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="ipcmesh"`)
	case ipcmesh.CodeRateLimited, ipcmesh.CodeUnavailable:
		h.Set("Retry-After", retryAfter(e.RetryAfter()))
	case ipcmesh.CodeShuttingDown:
		h.Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: e})
}

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONWithin(w, status, v, streamWriteTimeout)
}

// bigAnswer is the size from which an answer is written in pieces of
// this size, each under a deadline: smaller ones go into the
// connection's buffers at once.
const bigAnswer = 64 << 10

// writeJSONWithin writes v as the JSON answer with status. An answer of
// bigAnswer bytes or more is written a piece at a time, and each piece
// must go out within grace: a client that asked for a large message and
// stopped reading would otherwise hold the write, its goroutine and the
// name's use for as long as TCP keeps the connection, for ever if it
// keeps acknowledging with a window of 0. A client that reads, however
// slowly, gets the whole answer.
func writeJSONWithin(w http.ResponseWriter, status int, v any, grace time.Duration) {
	var b []byte
	var err error
	if raw, ok := v.(json.RawMessage); ok && len(raw) > 0 {
		// A broker's answer passed on (see Peer.SendMessageJSON): JSON as
		// Marshal wrote it, compact, so escaping it as json.Marshal would
		// is all that is left to do. json.Marshal would also check and
		// compact it again, 2% of the face's CPU under eight senders.
		var buf bytes.Buffer
		buf.Grow(len(raw) + 1)
		json.HTMLEscape(&buf, raw)
		b = buf.Bytes()
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		// Every answer is made of the mesh's own types, which marshal.
		b = []byte(`{"error":{"code":"internal","message":"the answer could not be encoded"}}`)
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b = append(b, '\n')
	if len(b) < bigAnswer {
		w.Write(b)
		return
	}
	rc := http.NewResponseController(w)
	for len(b) > 0 {
		n := min(len(b), bigAnswer)
		if rc.SetWriteDeadline(time.Now().Add(grace)) != nil {
			n = len(b) // a writer with no deadlines: the server's own timeouts apply
		}
		if _, err := w.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
	}
}
