package cli

import (
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// status's log: line says what a cluster's log holds and the copy it is
// trimmed below, and reads sensibly before the first event and the first
// copy.
func TestLogLine(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		log  ipc.LogStatus
		want string
	}{
		{ipc.LogStatus{Every: 100000},
			"no events yet; no copy of the views yet (one is made every 100000 events, and the log trimmed below the one before)"},
		{ipc.LogStatus{First: 1, Last: 14, Bytes: 4900, Applied: 14, Every: 100000},
			"events 1 to 14 (4.8 KiB), all applied here; no copy of the views yet (one is made every 100000 events, and the log trimmed below the one before)"},
		{ipc.LogStatus{First: 100001, Last: 231456, Bytes: 64 << 20, Applied: 231400, Copy: 200000, Copied: now.Add(-3 * time.Minute), Every: 100000},
			"events 100001 to 231456 (64.0 MiB), this broker's view at event 231400; newest copy of the views at event 200000, made 3m ago (one every 100000 events; the log is trimmed below the one before)"},
		// A server of three down: the mesh works as before, with none to
		// spare; of five, with one.
		{ipc.LogStatus{First: 1, Last: 14, Bytes: 4900, Applied: 14, Every: 100000, Current: 2, Behind: []string{"n3"}},
			"events 1 to 14 (4.8 KiB), all applied here; only 2 of the 3 servers that keep it are current (n3 is down, cut off or catching up): one more lost stops every write; no copy of the views yet (one is made every 100000 events, and the log trimmed below the one before)"},
		{ipc.LogStatus{First: 1, Last: 14, Bytes: 4900, Applied: 14, Every: 100000, Current: 4, Behind: []string{"n5"}},
			"events 1 to 14 (4.8 KiB), all applied here; only 4 of the 5 servers that keep it are current (n5 is down, cut off or catching up): 2 more lost stop every write; no copy of the views yet (one is made every 100000 events, and the log trimmed below the one before)"},
		{ipc.LogStatus{First: 1, Last: 14, Bytes: 4900, Applied: 14, Every: 100000, Current: 1, Behind: []string{"n2", "n3"}},
			"events 1 to 14 (4.8 KiB), all applied here; only 1 of the 3 servers that keep it is current (n2, n3 are down, cut off or catching up): too few for a quorum: writes fail until more are back; no copy of the views yet (one is made every 100000 events, and the log trimmed below the one before)"},
		// The log answered and the list of copies did not: writes work.
		{ipc.LogStatus{First: 1, Last: 14, Bytes: 4900, Applied: 14, Every: 100000, CopiesError: "list the copies of the views in IPCMESH-snapshots: stream not found"},
			"events 1 to 14 (4.8 KiB), all applied here; the copies of the views (one every 100000 events) are unknown: list the copies of the views in IPCMESH-snapshots: stream not found"},
		// Trimmed past its last event (a purge by hand): NATS gives the
		// next sequence as the first.
		{ipc.LogStatus{First: 31, Last: 30, Applied: 30, Copy: 30, Copied: now.Add(-time.Hour), Every: 10},
			"no events held, all applied here; newest copy of the views at event 30, made 1h ago (one every 10 events; the log is trimmed below the one before)"},
	} {
		if got := logLine(tc.log, now); got != tc.want {
			t.Errorf("logLine(%+v)\n got %q\nwant %q", tc.log, got, tc.want)
		}
	}
}

// status's writes: line says since when the disk refuses the store's
// writes while none was taken after, and when the last refusal and the
// last write taken were once one was, and whether for want of room or
// of permission.
func TestRefusedLine(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.Local)
	const full = "the disk is full: free space in /data, then make the request again"
	const denied = "cannot write in /data/large-messages: make it and its files writable"
	for _, tc := range []struct {
		s    ipc.StatusResult
		want string
	}{
		{ipc.StatusResult{StoreRefused: full, StoreRefusedSince: now.Add(-2 * time.Minute), StoreRefusedLast: now.Add(-10 * time.Second)},
			"refused for want of room since 11:58:00 (2m ago), none taken since: " + full},
		{ipc.StatusResult{StoreRefused: full, StoreRefusedSince: now.Add(-2 * time.Minute), StoreRefusedLast: now.Add(-70 * time.Second), StoreTaken: now.Add(-time.Second)},
			"the last refused for want of room at 11:58:50 (1m ago); writes were taken since, the last at 11:59:59 (just now): " + full},
		{ipc.StatusResult{StoreRefused: denied, StoreRefusedFor: ipc.RefusedForPermission, StoreRefusedSince: now.Add(-2 * time.Minute), StoreRefusedLast: now.Add(-10 * time.Second)},
			"refused for want of permission since 11:58:00 (2m ago), none taken since: " + denied},
	} {
		if got := refusedLine(tc.s, now); got != tc.want {
			t.Errorf("refusedLine\n got %q\nwant %q", got, tc.want)
		}
	}
}

// status's disk: line says the room left, and warns while it is under
// 100 MiB or under the store's size.
func TestDiskLine(t *testing.T) {
	for _, tc := range []struct {
		free, store int64
		want        string
	}{
		{12 << 30, 1 << 20, "12.0 GiB left on the data folder's file system"},
		{50 << 20, 1 << 20, "only 50.0 MiB left on the data folder's file system: free space before it fills (a full disk refuses sends, and ipcmesh compact needs about the store's size, 1.0 MiB, beside it)"},
		{50 << 20, 0, "only 50.0 MiB left on the data folder's file system: free space before it fills (a full disk refuses sends, and ipcmesh compact needs about the store's size beside it)"},
		{300 << 20, 400 << 20, "only 300.0 MiB left on the data folder's file system: free space before it fills (a full disk refuses sends, and ipcmesh compact needs about the store's size, 400.0 MiB, beside it)"},
	} {
		if got := diskLine(tc.free, tc.store); got != tc.want {
			t.Errorf("diskLine(%d, %d)\n got %q\nwant %q", tc.free, tc.store, got, tc.want)
		}
	}
}

// status's cluster: line names the stream, its replicas and servers, and
// the server the broker reaches, or that it reaches none.
func TestClusterLine(t *testing.T) {
	for _, tc := range []struct {
		c    ipc.ClusterStatus
		want string
	}{
		{ipc.ClusterStatus{Stream: "IPCMESH", Replicas: 3, Servers: "nats://a:4222,nats://b:4222", Connected: "nats://b:4222"},
			"stream IPCMESH (3 replicas) on nats://a:4222,nats://b:4222, connected to nats://b:4222"},
		{ipc.ClusterStatus{Stream: "TEAM", Replicas: 1, Servers: "nats://a:4222"},
			"stream TEAM (1 replica) on nats://a:4222, connected to none of them now"},
	} {
		if got := clusterLine(tc.c); got != tc.want {
			t.Errorf("clusterLine(%+v)\n got %q\nwant %q", tc.c, got, tc.want)
		}
	}
}
