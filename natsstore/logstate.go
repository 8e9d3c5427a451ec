package natsstore

import (
	"context"
	"fmt"

	"github.com/ipcmesh/ipcmesh/store"
)

// LogState says how far the mesh's log reaches and which copy of the views
// a broker with a new data folder starts from: what a person running a
// cluster looks at to see that the log is trimmed as it grows (status
// shows it). It asks the cluster twice, once for the stream and once for
// the list of copies, so it waits as long as ctx allows when the cluster
// has no quorum.
func (s *Store) LogState(ctx context.Context) (store.LogState, error) {
	info, err := s.log_.Info(ctx)
	if err != nil {
		return store.LogState{}, fmt.Errorf("read the state of the log %s: %w", s.stream, err)
	}
	st := store.LogState{First: info.State.FirstSeq, Last: info.State.LastSeq, Bytes: info.State.Bytes, Applied: s.applied(), Every: s.opts.snapshotEvery}
	if s.snaps == nil {
		return st, nil
	}
	snaps, err := s.snapshots(ctx)
	if err != nil {
		return st, err
	}
	if len(snaps) > 0 {
		st.Copy, st.Copied = snaps[0].mark.Applied, snaps[0].made
	}
	return st, nil
}
