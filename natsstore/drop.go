package natsstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Drop deletes the mesh that opts names from the cluster: its log, its
// names and settings buckets, its large bodies and the copies of its views, every
// message of it for good. Its brokers must be stopped first; their views
// stay in their data folders, and are built anew should a mesh of the
// same prefix be made again.
// Dropping a mesh the cluster does not hold does nothing.
func Drop(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	nc, err := connect(opts, "ipcmesh drop "+opts.Prefix)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("drop the mesh %s: %w", opts.Prefix, err)
	}
	for _, del := range []func() error{
		func() error { return js.DeleteStream(ctx, opts.Prefix) },
		func() error { return js.DeleteKeyValue(ctx, namesBucket(opts.Prefix)) },
		func() error { return js.DeleteKeyValue(ctx, meshBucket(opts.Prefix)) },
		func() error { return js.DeleteObjectStore(ctx, bodiesBucket(opts.Prefix)) },
		func() error { return js.DeleteObjectStore(ctx, snapshotsBucket(opts.Prefix)) },
	} {
		err := del()
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) &&
			!errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("drop the mesh %s from %s: %w", opts.Prefix, Redacted(opts.URL), err)
		}
	}
	return nil
}

// namesBucket and bodiesBucket name the buckets of the mesh of prefix.
func namesBucket(prefix string) string  { return prefix + "-names" }
func bodiesBucket(prefix string) string { return prefix + "-bodies" }
