package natsstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// An object is put as chunks, published under a subject of their own
// ("$O.BUCKET.C.NUID"), and then its name, which points at them. nats.go
// purges the chunks of an upload that fails while it runs; a broker killed
// in the middle of one (a large body, a copy of its view, which takes
// seconds) leaves chunks that no name points at, which would stay for as
// long as the bucket. The sweep of the bodies bucket purges them from both
// buckets once their last chunk is older than the orphan age: an upload
// under way writes a chunk at least every few seconds, so chunks that old
// are an upload that ended without its name.

// sweepChunks purges, from the stream of the object store bucket, the
// chunks that none of the objects listed in infos points at and whose last
// chunk the cluster stored before before.
func (s *Store) sweepChunks(ctx context.Context, bucket string, infos []*jetstream.ObjectInfo, before time.Time) error {
	n, err := s.purgeUnnamed(ctx, bucket, infos, before)
	if n > 0 {
		s.log.Info("purged the chunks of uploads that never finished", "bucket", bucket, "uploads", n, "stored_before", before)
	}
	return err
}

// purgeUnnamed is sweepChunks; it returns how many uploads' chunks it
// purged.
func (s *Store) purgeUnnamed(ctx context.Context, bucket string, infos []*jetstream.ObjectInfo, before time.Time) (int, error) {
	named := make(map[string]bool, len(infos))
	for _, info := range infos {
		if !info.Deleted {
			named[info.NUID] = true
		}
	}
	var (
		stream jetstream.Stream
		chunks map[string]uint64
	)
	pre := "$O." + bucket + ".C."
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		if stream, err = s.js.Stream(ctx, "OBJ_"+bucket); err != nil {
			return err
		}
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(pre+">"))
		if err == nil {
			chunks = info.State.Subjects
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("list the uploads of %s: %w", bucket, err)
	}
	n := 0
	for subject := range chunks {
		if named[strings.TrimPrefix(subject, pre)] {
			continue
		}
		var last *jetstream.RawStreamMsg
		err := retry(ctx, func(ctx context.Context) (err error) {
			last, err = stream.GetLastMsgForSubject(ctx, subject)
			return err
		})
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // purged since the list
		}
		if err != nil {
			return n, fmt.Errorf("read the last chunk of %s: %w", subject, err)
		}
		if !last.Time.Before(before) {
			continue // an upload that may still be under way
		}
		err = retry(ctx, func(ctx context.Context) error {
			return stream.Purge(ctx, jetstream.WithPurgeSubject(subject))
		})
		if err != nil {
			return n, fmt.Errorf("purge the chunks no object of %s points at (%s): %w", bucket, subject, err)
		}
		n++
	}
	return n, nil
}
