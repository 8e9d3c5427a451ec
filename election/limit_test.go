package election

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/store"
)

// TestOverTheLimitSaysByHowMuch: content just over the message limit is
// refused with sizes that show it over, in bytes where the rounded sizes
// would read alike ("8.0 MiB, over the message limit of 8.0 MiB" told the
// sender nothing it could act on), and in the rounded ones elsewhere.
func TestOverTheLimitSaysByHowMuch(t *testing.T) {
	for _, tc := range []struct {
		limit, size int
		want        string
	}{
		{store.DefaultMaxMessageBytes, store.DefaultMaxMessageBytes + 1, "is 8388609 bytes, over the message limit of 8388608 bytes"},
		{store.DefaultMaxMessageBytes, 50 << 20, "is 50.0 MiB, over the message limit of 8.0 MiB"},
		{1000, 1001, "is 1001 bytes, over the message limit of 1000 bytes"},
	} {
		p := &Peer{cfg: Config{Store: store.Options{MaxMessageBytes: tc.limit}}}
		err := p.fits("the message", strings.Repeat("x", tc.size), largeAdvice, "Nothing was sent")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d bytes over a limit of %d: %v; want it to say %q", tc.size, tc.limit, err, tc.want)
		}
	}
}
