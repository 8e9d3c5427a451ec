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
			"no events held; no copy of the views yet (one is made every 100000 events, and the log trimmed below the one before)"},
		{ipc.LogStatus{First: 1, Last: 14, Bytes: 4900, Every: 100000},
			"events 1 to 14 (4.8 KiB); no copy of the views yet (one is made every 100000 events, and the log trimmed below the one before)"},
		{ipc.LogStatus{First: 100001, Last: 231456, Bytes: 64 << 20, Copy: 200000, Copied: now.Add(-3 * time.Minute), Every: 100000},
			"events 100001 to 231456 (64.0 MiB); newest copy of the views at event 200000, made 3m ago (one every 100000 events; the log is trimmed below the one before)"},
		// Trimmed past its last event (a purge by hand): NATS gives the
		// next sequence as the first.
		{ipc.LogStatus{First: 31, Last: 30, Copy: 30, Copied: now.Add(-time.Hour), Every: 10},
			"no events held; newest copy of the views at event 30, made 1h ago (one every 10 events; the log is trimmed below the one before)"},
	} {
		if got := logLine(tc.log, now); got != tc.want {
			t.Errorf("logLine(%+v)\n got %q\nwant %q", tc.log, got, tc.want)
		}
	}
}
