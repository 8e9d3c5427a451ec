package natsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"
)

// A large event's body is read back from the bodies bucket before the
// event that names it is published, and put again should it not come
// back whole.
//
// The object store's Put (nats.go's jetstream, v1.56.0) publishes the chunks of a
// body asynchronously, every one from the same message, whose data it
// points at the same buffer, chunk after chunk. A chunk whose publish is
// answered "no responders" (the bucket's stream has no leader for a
// moment: a server of the cluster died, its leadership moved) is
// published again by the client library a moment later: that same
// message, which by then holds a later chunk. Put returns success all
// the same, with the digest of the body it was given, and the object
// the cluster holds does not match it. An event naming such an object
// stops every view of the mesh, each time it is applied (blob reads a
// digest that never matches a few times, then gives up): one leader's
// blip during an upload would stop the whole mesh. Read back as the
// views read it, the object is known whole before anything names it.
//
// What it costs: the body crosses between the broker and the cluster
// once more, back, within the write's time, which has its TransferTime
// more for it. On three local servers (BenchmarkLargeSend), a 4 MiB body
// read back in a median of 50 to 110 ms, after an upload of 85 to 195
// ms; a whole send took about a fifth longer, within what runs varied.

// maxPuts is how many times a write puts a large body that reads back
// damaged before it is refused: the leader's blip that damaged the first
// is over by the second, or the third.
const maxPuts = 3

// errBodyDamaged is the error of a large body that read back damaged
// from the bodies bucket each of the maxPuts times it was put.
var errBodyDamaged = errors.New("the object store gave back another body than the one put")

// putBody puts data into the bodies bucket under id and reads it back,
// putting it again, under the same id, while it does not come back as it
// was sent: a put of the same name replaces the object. It returns once
// the cluster holds the body whole, or with errBodyDamaged after maxPuts
// puts, or with the error of a put or of a read that failed.
func (s *Store) putBody(ctx context.Context, id string, data []byte) error {
	for put := 1; ; put++ {
		info, err := s.putAgainWhileCut(ctx, "a large body", func() (*jetstream.ObjectInfo, error) {
			return s.blobs.PutBytes(ctx, id, data)
		})
		if err != nil {
			return err
		}
		if s.opts.uploaded != nil {
			s.opts.uploaded(info)
		}
		err = s.readBack(ctx, s.blobs, info.NUID, id, int64(len(data)), data)
		if !errors.Is(err, errBodyDamaged) {
			return err
		}
		if put == maxPuts {
			return fmt.Errorf("large event %s, put %d times: %w", id, put, err)
		}
		s.log.Warn("a large body read back from the object store did not match what was put; putting it again", "object", id, "err", err)
	}
}

// putAgainWhileCut calls put again while it fails as a put cut off by a
// reconnect to the cluster, or by a bucket without a leader for a
// moment, does, and ctx lasts: a put of the same name replaces what a
// try cut off left. what names the object for the log.
func (s *Store) putAgainWhileCut(ctx context.Context, what string, put func() (*jetstream.ObjectInfo, error)) (*jetstream.ObjectInfo, error) {
	for {
		info, err := put()
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return info, err
		}
		s.log.Debug("put "+what+" again", "err", err)
		s.stops.pause(ctx, retryPause)
	}
}

// readBack reads the object id of obs, stored by the put whose chunks
// are nuid, as the views read it, and returns nil if it comes whole: its
// digest matches, and it holds want, unless want is nil.
// errBodyDamaged if not. A replica a moment behind the put, which does
// not know the object yet or gives the one it replaced, is asked again,
// as is a read that timed out or found no leader, until ctx ends. A read
// whose digest does not match is made again too, up to readsOfDamaged
// reads in all: the client library drops chunks for a reader that falls
// behind, as one may on a busy machine, and the object read so is whole
// in the cluster (it was put a third time in a CI run for want of this).
func (s *Store) readBack(ctx context.Context, obs jetstream.ObjectStore, nuid, id string, size int64, want []byte) error {
	mismatches := 0
	for {
		var got bytes.Buffer
		var w io.Writer = io.Discard // the read checks the digest at its end
		if want != nil {
			w = &got
		}
		err := s.readPut(ctx, obs, nuid, id, size, w)
		switch {
		case err == nil && (want == nil || bytes.Equal(got.Bytes(), want)):
			return nil
		case err == nil:
			return fmt.Errorf("%w: %d bytes of %d, or others", errBodyDamaged, got.Len(), len(want))
		case errors.Is(err, jetstream.ErrDigestMismatch):
			if mismatches++; mismatches == readsOfDamaged {
				return fmt.Errorf("%w: %w (%d reads)", errBodyDamaged, err, mismatches)
			}
		case ctx.Err() != nil:
			return err
		case !errors.Is(err, errOlderPut) && !errors.Is(err, jetstream.ErrObjectNotFound) && !retryable(err):
			return fmt.Errorf("read back %s: %w", id, err)
		}
		s.stops.pause(ctx, publishPause)
	}
}

// readsOfDamaged is how many reads back of an object whose digest does
// not match make it taken for damaged in the cluster.
const readsOfDamaged = 3

// errOlderPut is a read of an object that gave another put of it than
// the one it looked for.
var errOlderPut = errors.New("the object store gave an older put of the object")

// readPut makes one read into w of the object id of obs, of size bytes,
// as the put whose chunks are nuid stored it, given blobReadTime for its
// size. The object's description is asked of any replica: one that does
// not have that put yet names the chunks of the object it replaced,
// which the put removed, and is not read.
func (s *Store) readPut(ctx context.Context, obs jetstream.ObjectStore, nuid, id string, size int64, w io.Writer) error {
	rctx, cancel := context.WithTimeout(ctx, blobReadTime(uint64(max(size, 0))))
	defer cancel()
	r, err := obs.Get(rctx, id)
	if err != nil {
		return err
	}
	defer r.Close()
	if info, err := r.Info(); err != nil || info.NUID != nuid {
		return errors.Join(errOlderPut, err)
	}
	_, err = io.Copy(w, r)
	return err
}
