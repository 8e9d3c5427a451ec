package natsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// When the wait of an opening store ends during an attempt, retry returns
// the cluster's last answer, here that it has too few servers for the
// replicas, not the deadline that cut the attempt short: which of the two
// came back depended on whether the wait ended in an attempt or in the
// pause between two, and the refusal is what says what to change.
func TestRetryEndedInAnAttemptReturnsTheLastAnswer(t *testing.T) {
	refusal := &awaitingServers{&jetstream.APIError{ErrorCode: errCodeNoPeers, Description: "no suitable peers for placement"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tries := 0
	err := retry(ctx, func(actx context.Context) error {
		tries++
		if tries == 1 {
			return refusal
		}
		// The wait ends while the cluster is asked again.
		cancel()
		<-actx.Done()
		return actx.Err()
	})
	if tries != 2 {
		t.Fatalf("retry made %d attempts, want 2", tries)
	}
	if !errors.Is(err, refusal) || !tooFewServers(err) {
		t.Errorf("retry whose wait ended during an attempt: %v; want the refusal of the attempt before", err)
	}
}

// With no answer at all, retry says the wait ran out.
func TestRetryNeverAnsweredReturnsTheDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := retry(ctx, func(actx context.Context) error {
		cancel()
		<-actx.Done()
		return actx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("retry never answered: %v; want context.Canceled", err)
	}
}

// A read of an object (a large body, a copy of the views) whose time runs
// out ends with the error of the pipe the client library reads it through,
// "read pipe: i/o timeout", not with the context's: it is tried again as
// a read cut short is. Taken for a failure, it stopped the view that read
// a large body on a busy machine, and a new view's start from a copy.
func TestAnObjectReadThatTimedOutIsTriedAgain(t *testing.T) {
	r, w := net.Pipe()
	defer w.Close()
	defer r.Close()
	r.SetReadDeadline(time.Now())
	_, err := r.Read(make([]byte, 1))
	if err == nil {
		t.Fatal("a read of a pipe past its deadline did not fail")
	}
	if !retryable(err) {
		t.Errorf("retryable(%q) = false, want true", err)
	}
	if retryable(io.ErrClosedPipe) {
		t.Errorf("retryable(%q) = true, want false", io.ErrClosedPipe)
	}
}

// A request whose answer was lost as the client went to another server
// ends with "nats: server is disconnected": it is tried again, as one
// that timed out is. Taken for a failure, it refused a large message
// whose upload was under way as the connection moved.
func TestARequestCutOffByAReconnectIsTriedAgain(t *testing.T) {
	err := fmt.Errorf("put the body: %w", nats.ErrDisconnected)
	if !retryable(err) || !unanswered(err) {
		t.Errorf("retryable(%q) = %v, unanswered = %v; want both true", err, retryable(err), unanswered(err))
	}
}

// A write to the connection that its server reset, as it does when it
// dies, fails with the socket's error rather than the client library's:
// the client is reconnecting, and it is tried again as a request whose
// answer was lost is. Taken for a refusal, it failed the put of a copy
// of the view under way as its server was killed, and the log went
// untrimmed for an interval more.
func TestAWriteCutOffByItsServerIsTriedAgain(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("put the copy: %w", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.ECONNRESET)}),
		fmt.Errorf("put the copy: %w", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}),
		fmt.Errorf("flush: %w", net.ErrClosed),
	} {
		// Unanswered, not an answer of the cluster: a retry whose time
		// runs out says why the tries before failed, not this.
		if !retryable(err) || !unanswered(err) {
			t.Errorf("retryable(%q) = %v, unanswered = %v; want both true", err, retryable(err), unanswered(err))
		}
	}
}
