package natsstore

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/store"
)

// LogState says how far the mesh's log reaches and which copy of the views
// a broker with a new data folder starts from: what a person running a
// cluster looks at to see that the log is trimmed as it grows (status
// shows it). It asks the cluster twice, once for the stream and once for
// the list of copies, so it waits as long as ctx allows when the cluster
// has no quorum. Its error says so, and what it means for the mesh: a
// broker without quorum still counts its mail from the view, and status
// looks as ever but for this. A list of the copies that fails where the
// log answered leaves only the copies unknown (CopiesError).
func (s *Store) LogState(ctx context.Context) (store.LogState, error) {
	st, err := s.logState(ctx)
	st.Stream, st.Replicas, st.Servers = s.stream, s.opts.Replicas, Redacted(s.opts.URL)
	if s.nc.IsConnected() {
		st.Connected = s.nc.ConnectedUrlRedacted()
	}
	if err != nil {
		return st, fmt.Errorf("the NATS cluster did not say where the log stands: it has no quorum (most of its servers are down or cut off), is electing a new leader, or is unreachable; writes fail until it answers, and reads are served from this broker's view meanwhile (%w)", err)
	}
	return st, nil
}

func (s *Store) logState(ctx context.Context) (store.LogState, error) {
	info, err := s.log_.Info(ctx)
	if err != nil {
		return store.LogState{}, fmt.Errorf("read the state of the log %s: %w", s.stream, err)
	}
	st := store.LogState{First: info.State.FirstSeq, Last: info.State.LastSeq, Bytes: info.State.Bytes, Applied: s.applied(), Every: s.opts.snapshotEvery}
	st.Current, st.Behind = replicasOf(info)
	if s.snaps == nil {
		return st, nil
	}
	snaps, err := s.snapshots(ctx)
	if err != nil {
		// The log answered: writes work, and saying otherwise (as an
		// error of LogState does) would send a person after a cluster
		// without quorum that it is not.
		st.CopiesError = err.Error()
		return st, nil
	}
	if len(snaps) > 0 {
		st.Copy, st.Copied = snaps[0].mark.Applied, snaps[0].made
	}
	return st, nil
}

// replicasOf counts the servers that keep the stream of info and hold all
// of it now, its leader among them, and names those that do not: down,
// cut off or catching up. A stream on a server in no cluster has no
// cluster information: its one server is current.
func replicasOf(info *jetstream.StreamInfo) (current int, behind []string) {
	c := info.Cluster
	if c == nil || c.Leader == "" && len(c.Replicas) == 0 {
		return 1, nil
	}
	if c.Leader != "" {
		current++
	}
	for _, p := range c.Replicas {
		if p.Current && !p.Offline {
			current++
		} else {
			behind = append(behind, p.Name)
		}
	}
	return current, behind
}
