package natsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The mesh's stream and buckets in the cluster: made by the first broker,
// checked by the others, and what the cluster's refusals of them mean.

// awaitingServers is a refusal for want of servers, which Open asks
// again: it is retryable.
type awaitingServers struct{ err error }

func (e *awaitingServers) Error() string { return e.err.Error() }
func (e *awaitingServers) Unwrap() error { return e.err }

// errCodeNoPeers is JetStream's refusal of a stream for want of servers to
// put its replicas on ("no suitable peers for placement").
const errCodeNoPeers jetstream.ErrorCode = 10005

func tooFewServers(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == errCodeNoPeers
}

// errCodeUnclustered is JetStream's refusal, from a server that is not
// in a cluster, of a stream of more than one replica ("replicas > 1 not
// supported in non-clustered mode"): a single nats-server -js, or a
// broker's --nats-node given no routes.
const errCodeUnclustered jetstream.ErrorCode = 10074

func unclustered(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == errCodeUnclustered
}

// duplicateWindow is how long the log remembers the id of an event it
// stored, and answers a publish of the same id with that event instead
// of storing it again.
const duplicateWindow = 2 * time.Minute

// ensure creates the stream and the buckets, or checks they are there.
// Creating what exists with the same settings is a no-op in JetStream, so
// the brokers of a mesh may all start at once.
func (s *Store) ensure(ctx context.Context) (*jetstream.StreamInfo, error) {
	if err := s.adoptMeshSettings(ctx); err != nil {
		return nil, err
	}
	o := s.opts
	st, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        s.stream,
		Description: "ipcmesh: every write of the mesh, in order",
		Subjects:    []string{s.subject},
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		// Retries of one write within this window are stored once; a
		// message's own id dedups it for as long as the message is kept.
		Duplicates: duplicateWindow,
		// Any replica may answer a read of one event, so that a view
		// catches up while the stream elects a leader.
		AllowDirect: true,
	})
	if err != nil {
		return nil, fmt.Errorf("create or find the stream %s (%d replicas) in the NATS cluster %s: %w", s.stream, o.Replicas, Redacted(o.URL), err)
	}
	s.log_ = st
	s.leaderLog = newLeaderReads(s.nc, s.stream)
	if _, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      namesBucket(s.stream),
		Description: "ipcmesh: which broker holds each name",
		TTL:         o.LeaseTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("create or find the names bucket: %w", err)
	}
	if _, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      meshBucket(s.stream),
		Description: "ipcmesh: the mesh's settings that its brokers share",
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("create or find the mesh's settings bucket: %w", err)
	}
	if s.blobs, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      bodiesBucket(s.stream),
		Description: "ipcmesh: writes too large for one NATS message",
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("create or find the bodies bucket: %w", err)
	}
	if s.snaps, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      snapshotsBucket(s.stream),
		Description: "ipcmesh: copies of the views, below which the log is trimmed",
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("create or find the snapshots bucket: %w", err)
	}
	return st.CachedInfo(), nil
}

// adoptMeshSettings settles the replicas and the lease TTL this broker
// keeps the mesh with. Those of a mesh that exists are kept where this
// broker's own settings would change them under the brokers that run: a
// shorter lease in the names bucket lapses the leases of brokers that
// renew by a longer one, and another host takes the names their
// instances are connected as; fewer replicas make every host's writes
// less safe. More replicas are taken: that is the way to raise them, and
// it is never less safe. A setting not given is the mesh's: a broker that
// took over with only the recorded address of the cluster serves the mesh
// as it is, a cluster of one server included.
func (s *Store) adoptMeshSettings(ctx context.Context) error {
	st, err := s.js.Stream(ctx, s.stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// A new mesh: this broker's settings make it.
	case err != nil:
		return fmt.Errorf("read the settings of the stream %s: %w", s.stream, err)
	default:
		switch r := st.CachedInfo().Config.Replicas; {
		case s.opts.Replicas == 0:
			s.opts.Replicas = r
		case s.opts.Replicas < r:
			s.log.Warn("IPC_NATS_REPLICAS is lower than the mesh's: keeping the mesh's, which every host should set",
				"IPC_NATS_REPLICAS", s.opts.Replicas, "mesh", r)
			s.opts.Replicas = r
		}
	}
	if s.opts.Replicas == 0 {
		s.opts.Replicas = DefaultReplicas
	}

	kv, err := s.js.KeyValue(ctx, namesBucket(s.stream))
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
	case err != nil:
		return fmt.Errorf("read the settings of the names bucket: %w", err)
	default:
		status, err := kv.Status(ctx)
		if err != nil {
			return fmt.Errorf("read the settings of the names bucket: %w", err)
		}
		switch ttl := status.TTL(); {
		case ttl <= 0:
		case s.opts.LeaseTTL == 0:
			s.opts.LeaseTTL = ttl
		case s.opts.LeaseTTL != ttl:
			s.log.Warn("IPC_NATS_LEASE differs from the mesh's: keeping the mesh's, which every host should set",
				"IPC_NATS_LEASE", s.opts.LeaseTTL, "mesh", ttl)
			s.opts.LeaseTTL = ttl
		}
	}
	if s.opts.LeaseTTL == 0 {
		s.opts.LeaseTTL = DefaultLeaseTTL
	}
	return nil
}
