package natsstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// The server a broker is connected to dies while the broker puts a copy
// of its view into the cluster: the put ends with "nats: server is
// disconnected" as the connection goes to another server, and is made
// again there. Given up, it left the log untrimmed for a whole interval
// more (seen under load on the shared cluster, its connection dropped
// for want of pings, in TestLogIsTrimmedBelowACopyOfTheViews).
func TestCopyCutOffByAReconnectIsPutAgain(t *testing.T) {
	const every = 4
	nats := natstest.StartProcs(t)
	p := shared.Prefix()
	openOnProcs(t, nats, p, nil) // makes the mesh, whose streams then have leaders
	// The server to kill leads neither the log nor the copies' bucket,
	// whose elections would make the test one of waiting them out.
	leads := map[int]bool{nats.Leader(p): true, nats.Leader("OBJ_" + p + "-snapshots"): true}
	server := slices.IndexFunc([]int{0, 1, 2}, func(i int) bool { return !leads[i] })
	urls := strings.Split(nats.URL(), ",")
	o := natsstore.Options{URL: urls[server], Prefix: p, Store: store.Options{Dir: t.TempDir()}}
	natsstore.SnapshotEvery(&o, every)
	rec := &logRecorder{}
	rec.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	a, err := natsstore.Open(ctx, o, slog.New(rec))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	// Watched through the servers that stay.
	js := jetStreamAt(t, strings.Join(slices.Delete(slices.Clone(urls), server, server+1), ","))
	snaps := objectStore(t, js, p+"-snapshots")
	chunks := stream(t, js, "OBJ_"+p+"-snapshots")

	// Large bodies make the copy long enough to be cut off: its put is
	// paced at 16 MB/s.
	body := strings.Repeat("0123456789abcdef", 1<<17)
	for i := range every - 1 {
		mustAppendTo(t, a, draft(fmt.Sprintf("big%d", i), "alice", "bob", body))
	}
	mustAppendTo(t, a, draft("copied", "alice", "bob", "the event the copy is made at"))
	testbin.Eventually(t, time.Minute, "the copy's put to store its first chunks", func() bool {
		info, err := chunks.Info(ctx)
		return err == nil && info.State.Msgs > 0
	})
	nats.Kill(server)
	want := fmt.Sprintf("view-%020d", every)
	testbin.Eventually(t, time.Minute, "a copy of the view at event "+fmt.Sprint(every), func() bool {
		return slices.Contains(objectNames(snaps), want)
	})
	if rec.count(slog.LevelDebug, "put the copy of the view again") == 0 {
		t.Logf("the copy was not cut off: its put had ended before the server died")
	}
	if n := rec.count(slog.LevelWarn, "copy the view"); n != 0 {
		t.Errorf("the broker warned %d times of a copy that failed; want it put again", n)
	}
	mustAppendTo(t, a, draft("after", "alice", "bob", "after the copy"))
}
