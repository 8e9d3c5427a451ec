package election

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// DefaultAddr is where the mesh lives unless IPC_HOST or IPC_PORT say
// otherwise.
const DefaultAddr = "127.0.0.1:9876"

// Config says where the mesh is and how a broker hosted here behaves.
type Config struct {
	// Addr is the mesh address every peer binds or dials.
	Addr string
	// DataDir holds the store, the secret file and the session tokens.
	DataDir string
	// Keys are derived from the shared secret; SecretFrom says where the
	// secret came from.
	Keys       auth.Keys
	SecretFrom auth.Source
	// Store configures the store when this peer hosts the broker. Its Dir
	// is DataDir.
	Store store.Options
	// Limits and SessionTTL configure a broker hosted here.
	Limits     ipc.Limits
	SessionTTL time.Duration
	// Subscribe asks the broker to push this peer's mail to OnEvent.
	Subscribe bool
	// KeepCurrent leaves the data folder's current name alone when this
	// peer registers: a server acting for others (the HTTP face) must not
	// change which name the user's own commands act as.
	KeepCurrent bool
	// Detach, when set, is the command that runs a detached broker
	// ("ipcmesh broker --detached"): a peer that wins the mesh port starts
	// it and hands it the port, instead of hosting the broker in its own
	// process. Unset, the broker is hosted in-process, as "ipcmesh broker",
	// the tests and the bench want.
	Detach []string
	// BrokerIdle is how long a detached broker serves with no peer
	// connected before it stops (DefaultBrokerIdle).
	BrokerIdle time.Duration
	// OnEvent receives pushed events in order, across brokers. It is called
	// from a connection's read loop and must not block.
	OnEvent func(ipc.Event)
	Logger  *slog.Logger
}

// FromEnv builds a Config from the environment, as every ipcmesh command
// does. getenv is os.Getenv outside tests. Bad values are errors that name
// the variable and say what it takes.
func FromEnv(getenv func(string) string) (Config, error) {
	var cfg Config
	host := getenv("IPC_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := getenv("IPC_PORT")
	if port == "" {
		port = "9876"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return cfg, fmt.Errorf("IPC_PORT=%q: want a port number from 1 to 65535", port)
	}
	cfg.Addr = net.JoinHostPort(host, port)

	cfg.DataDir = getenv("IPC_DATA_DIR")
	if cfg.DataDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return cfg, fmt.Errorf("find the home folder for the default data folder (set IPC_DATA_DIR instead): %w", err)
		}
		cfg.DataDir = filepath.Join(home, ".ipcmesh")
	}
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		cfg.DataDir = abs
	}

	ints := []struct {
		name string
		dst  *int
	}{
		{"IPC_LARGE_MESSAGE_BYTES", &cfg.Store.LargeMessageBytes},
		{"IPC_MAX_MESSAGE_BYTES", &cfg.Store.MaxMessageBytes},
		{"IPC_INBOX_CAP", &cfg.Store.InboxCap},
		{"IPC_MAX_FRAME_BYTES", &cfg.Limits.MaxFrame},
		{"IPC_RATE_BURST", &cfg.Limits.OpsBurst},
	}
	for _, v := range ints {
		if s := getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return cfg, fmt.Errorf("%s=%q: want a whole number above 0", v.name, s)
			}
			*v.dst = n
		}
	}
	floats := []struct {
		name string
		dst  *float64
	}{
		{"IPC_RATE_LIMIT", &cfg.Limits.OpsPerSecond},
		{"IPC_REGISTER_RATE", &cfg.Limits.RegisterPerSecond},
	}
	for _, v := range floats {
		if s := getenv(v.name); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f <= 0 {
				return cfg, fmt.Errorf("%s=%q: want a number of requests per second above 0", v.name, s)
			}
			*v.dst = f
		}
	}
	durs := []struct {
		name string
		dst  *time.Duration
	}{
		{"IPC_SESSION_TTL", &cfg.SessionTTL},
		{"IPC_HISTORY_RETENTION", &cfg.Store.HistoryRetention},
		{"IPC_BROKER_IDLE", &cfg.BrokerIdle},
	}
	for _, v := range durs {
		if s := getenv(v.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("%s=%q: want a duration such as 24h or 90m", v.name, s)
			}
			*v.dst = d
		}
	}
	maxFrame, maxMsg := cfg.Limits.MaxFrame, cfg.Store.MaxMessageBytes
	if maxFrame == 0 {
		maxFrame = ipc.DefaultMaxFrame
	}
	if maxMsg == 0 {
		maxMsg = store.DefaultMaxMessageBytes
	}
	if maxFrame < maxMsg+64<<10 {
		return cfg, fmt.Errorf("IPC_MAX_FRAME_BYTES=%d is too small for messages of up to %d bytes (IPC_MAX_MESSAGE_BYTES): make the frame at least 64 KiB larger than the message limit", maxFrame, maxMsg)
	}

	secret, src, err := auth.LoadSecret(cfg.DataDir, getenv("IPC_SHARED_SECRET"))
	if err != nil {
		return cfg, err
	}
	keys, err := auth.DeriveKeys(secret)
	if err != nil {
		return cfg, err
	}
	cfg.Keys, cfg.SecretFrom = keys, src
	return cfg, nil
}
