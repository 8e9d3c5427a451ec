package store

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * 24 * time.Hour:             "30 days",
		24 * time.Hour:                  "1 day",
		2 * time.Hour:                   "2h",
		time.Hour + 59*time.Minute + 31: "1h59m",
		90 * time.Second:                "2m",
		10 * time.Minute:                "10m",
		2*time.Hour + 10*time.Minute:    "2h10m",
		5 * time.Second:                 "5s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
