package ipc

import (
	"context"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// Store is what the broker keeps its state in: everything it must not lose,
// behind the operations the broker's requests need. Two packages implement
// it: store, a bbolt file in the data folder (one host, the default), and
// natsstore, a NATS JetStream cluster that the brokers of several hosts
// share. Both keep the promises of the store package's documentation: a
// write has been made durable before the call returns, reads of an inbox
// cost in proportion to its unread mail, names are validated before they
// become keys.
type Store interface {
	// Options are the limits and retention periods in force.
	Options() store.Options
	// Dir is the data folder the store keeps its local files in.
	Dir() string
	Close() error

	AppendEarly(ctx context.Context, drafts []store.Draft, early func([]store.Delivery)) ([]store.Delivery, error)
	UnreadAfter(name, from string, after uint64, limit int) ([]ipcmesh.Message, error)
	UnreadCount(name string) (int, error)
	Ack(ctx context.Context, name string, ids []string) (int, error)
	Get(name, id string) (ipcmesh.Message, string, error)
	Lookup(id string) (ipcmesh.Message, bool, error)
	BroadcastCopies(id string) (map[string]ipcmesh.Message, error)

	Conversation(a, b string, p store.Page) ([]ipcmesh.Message, bool, error)
	Thread(id string, after uint64, limit int) ([]ipcmesh.Message, error)
	ThreadAfter(thread string, after uint64, limit int) ([]ipcmesh.Message, error)
	ThreadLast(thread string) (uint64, error)
	Search(q store.Query) ([]ipcmesh.Message, bool, error)

	Session(name string) (store.Session, bool, error)
	SessionNames() ([]string, error)
	PutSession(ctx context.Context, sess store.Session) error
	RevokeSession(ctx context.Context, name string) error
	Rename(ctx context.Context, old string, sess store.Session, requestID string) (store.RenameResult, error)
	RenameDone(requestID string) (store.RenameResult, bool, error)
	Resolve(name string) (string, error)
	EarlierNames(name string) ([]store.EarlierName, error)
	Instances() ([]ipcmesh.Instance, error)
	Names() ([]string, error)
	SetStatus(ctx context.Context, name, status string, description *string) error
	Touch(ctx context.Context, seen map[string]time.Time) error

	Channel(name string) (ipcmesh.Channel, bool, error)
	Channels() ([]ipcmesh.Channel, error)
	ChannelHistory(name string, p store.Page) ([]ipcmesh.Message, bool, error)
	CreateChannel(ctx context.Context, ch ipcmesh.Channel) (ipcmesh.Channel, error)
	JoinChannel(ctx context.Context, name string, members []string) (ipcmesh.Channel, error)
	LeaveChannel(ctx context.Context, name, member string) error

	Share(ctx context.Context, sh ipcmesh.Shared) (ipcmesh.Shared, error)
	GetShared(key string) (ipcmesh.Shared, error)
	ListShared() ([]ipcmesh.Shared, error)

	PutAccessKey(ctx context.Context, k ipcmesh.AccessKey) error
	AccessKeys() ([]ipcmesh.AccessKey, error)
	AccessKeyByID(id string) (ipcmesh.AccessKey, bool, error)
	RevokeAccessKeys(ctx context.Context, id, name string) ([]ipcmesh.AccessKey, error)

	Stats() (store.Stats, error)
	Sweep(ctx context.Context) (store.SweepStats, error)
	Backup(path string) (missing []string, err error)
}

// A Follower is a Store whose reads follow the mesh's writes a moment
// behind: natsstore reads from a view that applies the cluster's log as it
// arrives, so a channel made on another host an instant ago may not be in
// it yet. CatchUp brings the view up to what the mesh holds now; the
// broker calls it before it refuses for want of something (no such
// channel, no such message), not on every read.
type Follower interface {
	Store
	CatchUp(ctx context.Context) error
}

// A Filed store keeps the mesh in a database file of the data folder
// (the bbolt store; natsstore's view of the cluster is a copy, not the
// mesh's file): status says how large the file is and how much of it is
// free, which ipcmesh compact gives back to the disk, how much room is
// left on the disk, and the writes it refused for want of room.
type Filed interface {
	Store
	Space() (store.Space, error)
	Disk() store.Disk
}

// A Logged store keeps the mesh in a log that is trimmed below copies of
// the brokers' views (natsstore): status says how far the log reaches and
// when the newest copy was made, which is how a person running a cluster
// sees that the log does not grow without end.
type Logged interface {
	Store
	LogState(ctx context.Context) (store.LogState, error)
}

// A Mesh is a Store that the brokers of several hosts share. The broker
// asks it who holds a name anywhere in the mesh, and hears from it of the
// messages other brokers stored, so that it pushes them to its own
// connections at once. The bbolt store is not one: on one host, the broker
// alone knows who is connected.
type Mesh interface {
	Store
	// Claim holds name for this broker mesh-wide, until Release or until
	// this broker stops renewing it (it died or lost the cluster). It fails
	// with name_taken while another broker holds the name. Claiming a name
	// this broker holds already succeeds.
	Claim(ctx context.Context, name string) error
	// Release gives up a name this broker no longer serves.
	Release(name string)
	// Held reports whether some broker of the mesh, this one included,
	// holds name now, and Holders returns every name held.
	Held(name string) bool
	Holders() []string
	// Arrivals sets the function called with the messages other brokers
	// stored, in the order the mesh stored them, once they can be read here.
	Arrivals(func([]store.Delivery))
	// Revocations sets the function called with the access keys other
	// brokers revoked, once they are revoked here too.
	Revocations(func([]ipcmesh.AccessKey))
	// WriteTimeout is how long a write, or a Claim, waits for the mesh
	// before it fails with unavailable.
	WriteTimeout() time.Duration
}

var _ Filed = (*store.Store)(nil)
