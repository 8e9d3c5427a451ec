package election_test

import (
	"cmp"
	"math"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// envSettings are the variables FromEnv reads a value of its own from
// (IPC_DATA_DIR and the secret are left out: FuzzExpandVars and the
// secret file's tests have them), and how each is written canonically.
var envSettings = []struct {
	name      string
	canonical func(string) (string, bool)
}{
	{"IPC_PORT", canonicalInt},
	{"IPC_LARGE_MESSAGE_BYTES", canonicalInt},
	{"IPC_MAX_MESSAGE_BYTES", canonicalInt},
	{"IPC_INBOX_CAP", canonicalInt},
	{"IPC_MAX_FRAME_BYTES", canonicalInt},
	{"IPC_RATE_BURST", canonicalInt},
	{"IPC_RATE_LIMIT", canonicalFloat},
	{"IPC_REGISTER_RATE", canonicalFloat},
	{"IPC_SESSION_TTL", canonicalDuration},
	{"IPC_HISTORY_RETENTION", canonicalDuration},
	{"IPC_BROKER_IDLE", canonicalDuration},
	{"IPC_STORE", nil},
	{"IPC_NATS_REPLICAS", canonicalInt},
	{"IPC_NATS_LEASE", canonicalDuration},
	{"IPC_NATS_PREFIX", nil},
	{"IPC_HOST", nil},
}

func canonicalInt(s string) (string, bool) {
	n, err := strconv.Atoi(s)
	return strconv.Itoa(n), err == nil
}

func canonicalFloat(s string) (string, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return strconv.FormatFloat(v, 'g', -1, 64), err == nil
}

func canonicalDuration(s string) (string, bool) {
	d, err := human.ParseDuration(s)
	return d.String(), err == nil
}

// FuzzFromEnv sets two of the variables FromEnv reads to arbitrary values,
// as a user's shell or an assistant's config may, and checks what the
// user gets: a setting taken is one the broker can run with (sizes within
// 1 GiB, a frame with room for a message, rates that are numbers, no
// lifetime under a second), and reads the same written canonically; a
// setting refused is refused with an error that names it, and an error
// that asks for a larger frame is satisfied by the frame it asks for.
func FuzzFromEnv(f *testing.F) {
	index := func(name string) uint8 {
		for i, s := range envSettings {
			if s.name == name {
				return uint8(i)
			}
		}
		f.Fatalf("no setting %s", name)
		return 0
	}
	for _, s := range []struct{ a, av, b, bv string }{
		{"IPC_PORT", "9877", "IPC_RATE_LIMIT", "2.5"},
		{"IPC_MAX_MESSAGE_BYTES", "1048576", "IPC_MAX_FRAME_BYTES", "1114112"},
		{"IPC_MAX_MESSAGE_BYTES", "16777216", "IPC_LARGE_MESSAGE_BYTES", "4096"},
		{"IPC_SESSION_TTL", "90m", "IPC_HISTORY_RETENTION", "720h"},
		{"IPC_RATE_BURST", "10", "IPC_REGISTER_RATE", "1e-3"},
		{"IPC_INBOX_CAP", "9223372036854775807", "IPC_BROKER_IDLE", "2562047h"},
		{"IPC_STORE", "nats://127.0.0.1:4222,nats://127.0.0.1:4223", "IPC_NATS_REPLICAS", "3"},
		{"IPC_STORE", "bbolt", "IPC_NATS_LEASE", "15s"},
		{"IPC_NATS_PREFIX", "team_a", "IPC_STORE", "nats://h:1"},
		{"IPC_RATE_LIMIT", "NaN", "IPC_PORT", "0x10"},
		{"IPC_SESSION_TTL", "999ms", "IPC_MAX_FRAME_BYTES", "1e6"},
		{"IPC_MAX_MESSAGE_BYTES", "1073741824", "IPC_PORT", "9877"},
		{"IPC_HOST", "::1", "IPC_PORT", "9877"},
		{"IPC_HOST", "127.0.0.1:9876", "IPC_NATS_PREFIX", "a"},
	} {
		f.Add(index(s.a), s.av, index(s.b), s.bv)
	}
	dir := f.TempDir() // made once: FromEnv makes the secret file in it
	f.Fuzz(func(t *testing.T, a uint8, av string, b uint8, bv string) {
		sa, sb := envSettings[int(a)%len(envSettings)], envSettings[int(b)%len(envSettings)]
		env := map[string]string{"IPC_DATA_DIR": dir, sa.name: av, sb.name: bv}
		getenv := func(k string) string { return env[k] }
		cfg, err := election.FromEnv(getenv)
		if err != nil {
			msg := err.Error()
			named := false
			for _, s := range []string{sa.name, sb.name, "IPC_MAX_FRAME_BYTES"} {
				named = named || strings.HasPrefix(msg, s+"=") || strings.HasPrefix(msg, s+":")
			}
			if !named {
				t.Fatalf("%s=%q %s=%q: refused with an error that names neither: %v", sa.name, av, sb.name, bv, err)
			}
			if strings.HasPrefix(msg, "IPC_MAX_FRAME_BYTES=") && strings.Contains(msg, "too small") {
				// Do as the error says: a frame 64 KiB larger than the
				// message limit.
				limit := store.DefaultMaxMessageBytes
				if v, ok := env["IPC_MAX_MESSAGE_BYTES"]; ok && v != "" {
					limit, _ = strconv.Atoi(v)
				}
				env["IPC_MAX_FRAME_BYTES"] = strconv.Itoa(limit + 64<<10)
				if _, err := election.FromEnv(getenv); err != nil && strings.HasPrefix(err.Error(), "IPC_MAX_FRAME_BYTES") {
					t.Fatalf("%s=%q %s=%q: refused with %q; IPC_MAX_FRAME_BYTES=%s, which it asks for, is refused too: %v",
						sa.name, av, sb.name, bv, msg, env["IPC_MAX_FRAME_BYTES"], err)
				}
			}
			return
		}
		checkRunnable(t, cfg, env)

		// Written canonically, the settings read the same.
		canon := map[string]string{"IPC_DATA_DIR": dir}
		for _, s := range []struct {
			name, v   string
			canonical func(string) (string, bool)
		}{{sa.name, av, sa.canonical}, {sb.name, bv, sb.canonical}} {
			canon[s.name] = env[s.name]
			if s.canonical == nil || env[s.name] == "" {
				continue
			}
			if c, ok := s.canonical(env[s.name]); ok {
				canon[s.name] = c
			}
		}
		again, err := election.FromEnv(func(k string) string { return canon[k] })
		if err != nil {
			t.Fatalf("%v taken, but written canonically, %v, refused: %v", env, canon, err)
		}
		if !reflect.DeepEqual(settingsOf(again), settingsOf(cfg)) {
			t.Fatalf("%v reads as %+v, but written canonically, %v, as %+v", env, settingsOf(cfg), canon, settingsOf(again))
		}
	})
}

// checkRunnable fails if cfg, taken from env, holds a setting a broker
// cannot run with.
func checkRunnable(t *testing.T, cfg election.Config, env map[string]string) {
	t.Helper()
	for what, n := range map[string]int{
		"large message threshold": cfg.Store.LargeMessageBytes,
		"message limit":           cfg.Store.MaxMessageBytes,
		"frame limit":             cfg.Limits.MaxFrame,
	} {
		if n < 0 || n > 1<<30 {
			t.Fatalf("%v taken, with a %s of %d bytes", env, what, n)
		}
	}
	frame := cfg.Limits.MaxFrame
	if frame == 0 {
		frame = ipc.DefaultMaxFrame
	}
	if frame < cfg.MessageLimit()+64<<10 {
		t.Fatalf("%v taken, with a frame of %d bytes for messages of up to %d", env, frame, cfg.MessageLimit())
	}
	// The address is the host and the port given, and nothing else.
	host, port, err := net.SplitHostPort(cfg.Addr)
	if n, _ := strconv.Atoi(cmp.Or(env["IPC_PORT"], "9876")); err != nil || host != cmp.Or(env["IPC_HOST"], "127.0.0.1") || port != strconv.Itoa(n) {
		t.Fatalf("%v taken, with the address %q (%v)", env, cfg.Addr, err)
	}
	if cfg.Store.InboxCap < 0 || cfg.Limits.OpsBurst < 0 {
		t.Fatalf("%v taken, with a count below 0: %+v", env, cfg.Limits)
	}
	for _, r := range []float64{cfg.Limits.OpsPerSecond, cfg.Limits.RegisterPerSecond} {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			t.Fatalf("%v taken, with a rate of %v", env, r)
		}
	}
	if cfg.SessionTTL != 0 && cfg.SessionTTL < time.Second || cfg.Cluster.LeaseTTL != 0 && cfg.Cluster.LeaseTTL < time.Second {
		t.Fatalf("%v taken, with a lifetime under a second: session %v, lease %v", env, cfg.SessionTTL, cfg.Cluster.LeaseTTL)
	}
	if cfg.Store.HistoryRetention < 0 || cfg.BrokerIdle < 0 {
		t.Fatalf("%v taken, with a duration below 0", env)
	}
	if r := cfg.Cluster.Replicas; r != 0 && r != 1 && r != 3 && r != 5 {
		t.Fatalf("%v taken, with %d replicas", env, r)
	}
}

// settingsOf is what of cfg the settings set.
func settingsOf(cfg election.Config) any {
	return struct {
		Addr       string
		Store      store.Options
		Limits     ipc.Limits
		SessionTTL time.Duration
		BrokerIdle time.Duration
		URL        string
		Prefix     string
		Replicas   int
		LeaseTTL   time.Duration
	}{cfg.Addr, cfg.Store, cfg.Limits, cfg.SessionTTL, cfg.BrokerIdle, cfg.Cluster.URL, cfg.Cluster.Prefix, cfg.Cluster.Replicas, cfg.Cluster.LeaseTTL}
}
