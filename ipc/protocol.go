package ipc

import (
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// Protocol names the wire protocol in the hello exchange, so that a peer can
// tell an ipcmesh broker from anything else listening on the port.
const Protocol = "ipcmesh"

// Version is the protocol version this package speaks. Versions is every
// version it can speak, newest first.
const Version = 1

// Versions lists the protocol versions this package can speak.
var Versions = []int{Version}

// Ops: every request a client can make, in the order docs/PROTOCOL.md
// documents them. hello and auth are the handshake (section 3); the rest
// are the operations of section 6, whose summary table lists them in this
// order and says which need a registered name.
const (
	OpHello = "hello" // first frame: versions and the client's nonce
	OpAuth  = "auth"  // second frame: the client's proof

	OpRegister   = "register"   // claim a name; returns a session token
	OpResume     = "resume"     // act as the name a token was issued for
	OpSend       = "send"       // a message to one name, or a post to a channel
	OpBroadcast  = "broadcast"  // a message to every name with a live session, except the sender
	OpCheck      = "check"      // unread messages, oldest first, optionally waiting
	OpAck        = "ack"        // mark messages read
	OpFetch      = "fetch"      // one message with its whole body
	OpList       = "list"       // every registered instance, online or not
	OpRename     = "rename"     // move this instance to a new name
	OpUnregister = "unregister" // end the session and free the name
	OpStatus     = "status"     // who the broker is and how busy it is
	OpBackup     = "backup"     // write a copy of the store into the broker's data folder
	OpCancel     = "cancel"     // call off the wait of a check or wait_reply of this connection

	// Collaboration: channels, conversations, threads, shared data, search
	// and presence status (docs/COLLABORATION.md).
	OpChannelCreate = "channel_create" // make a channel, public or private
	OpChannelList   = "channel_list"   // the channels the caller may see, optionally found by keyword
	OpChannelJoin   = "channel_join"   // join a channel, or add members to it
	OpChannelLeave  = "channel_leave"  // leave a channel
	OpHistory       = "history"        // a conversation, a channel or a thread, read or not, newest first
	OpWaitReply     = "wait_reply"     // wait for the next messages of a thread
	OpShare         = "share"          // store content under a key
	OpGetShared     = "get_shared"     // the content stored under a key
	OpListShared    = "list_shared"    // every shared key, without content
	OpSearch        = "search"         // find words in the messages the caller may read
	OpSetStatus     = "set_status"     // the caller's status line and description, shown by list

	// Access keys: bearer keys for the HTTP face, each bound to one name.
	// Keys are kept by the broker, so a key made on any machine of the mesh
	// works at every HTTP face and revoking it anywhere ends it everywhere.
	// Like status and backup, these ops need the secret but no name:
	// whoever holds the secret may act as anyone already.
	OpKeyCreate = "key_create" // make a key for a name
	OpKeyCheck  = "key_check"  // who a key acts as, if it is valid and not revoked
	OpKeyRevoke = "key_revoke" // revoke a key by id, or every key of a name
	OpKeyList   = "key_list"   // every key, without its secret part
	// OpKeySeen is a connection that keeps its name's keys (KeepsKeys)
	// saying it has forgotten a key it was told of with key_revoked.
	OpKeySeen = "key_seen"

	// OpStop asks the broker to stop and hand over, as SIGTERM asks its
	// process: what ipcmesh stop sends, on every system, before it falls
	// back to a signal. Beyond the secret it needs the stop key the
	// broker wrote into its data folder (StopRequest).
	OpStop = "stop"
)

// Events: what the broker pushes to a subscribed connection, in the order
// docs/PROTOCOL.md section 7 lists them.
const (
	EventMessage = "message" // a new message for this connection's name
	EventRenamed = "renamed" // an instance changed its name
	EventGoaway  = "goaway"  // the broker is shutting down: elect the next one now
	// EventKeyRevoked tells the connections of a name that one of its keys
	// was revoked, so an HTTP face can end the streams opened with it at
	// once; one that keeps keys (RegisterRequest.KeepsKeys) answers it
	// with OpKeySeen. Its body is the key's ipcmesh.AccessKey.
	EventKeyRevoked = "key_revoked"
	// EventUnregistered tells the connections of a name that an unregister
	// (on any of them) ended its session: they act as no name now, and get
	// no more pushes. Its body is an UnregisteredEvent.
	EventUnregistered = "unregistered"
)

// HelloRequest opens a connection.
type HelloRequest struct {
	Protocol string `json:"protocol"`
	Versions []int  `json:"versions"`
	Nonce    []byte `json:"nonce"`
}

// HelloResponse proves the broker knows the secret before the client says
// anything that depends on it. It says nothing about the broker: that waits
// until the client has proved itself too.
type HelloResponse struct {
	Protocol string `json:"protocol"`
	Version  int    `json:"version"`
	Nonce    []byte `json:"nonce"`
	Proof    []byte `json:"proof"`
}

// AuthRequest carries the client's proof.
type AuthRequest struct {
	Proof []byte `json:"proof"`
}

// AuthResponse admits the client and describes the broker.
type AuthResponse struct {
	Broker BrokerInfo `json:"broker"`
}

// BrokerInfo describes the broker process.
type BrokerInfo struct {
	PID     int       `json:"pid"`
	Addr    string    `json:"addr"`
	Started time.Time `json:"started"`
	DataDir string    `json:"data_dir"`
	// Cluster is set when the broker's store is shared with the brokers
	// of other hosts (cluster mode): what another host's broker does, a
	// key revoked there say, is not pushed to this broker's connections.
	Cluster bool `json:"cluster,omitempty"`
	// Revision is the broker's Revision; 0 from a broker older than
	// revision 1, which did not say it.
	Revision int `json:"revision,omitempty"`
	// MaxFrame is the largest request frame the broker reads
	// (IPC_MAX_FRAME_BYTES of its process); 0 from a broker that did not
	// say it. A client with a larger limit of its own refuses a frame
	// over this one before sending it: the broker would cut the
	// connection on it, and a resend on the next meet the same fate.
	MaxFrame int `json:"max_frame,omitempty"`
}

// RegisterRequest claims Name. A name held by a connected instance, or by a
// session that has not expired, can only be claimed with that session's
// Token. Session, when the client sets it, becomes the new session's id: a
// register retried after a failover then resumes the session the first
// attempt created instead of finding the name taken.
type RegisterRequest struct {
	Name      string `json:"name"`
	Token     string `json:"token,omitempty"`
	Session   string `json:"session,omitempty"`
	Subscribe bool   `json:"subscribe,omitempty"`
	// KeepForward refuses (renamed) a name that was renamed away and is
	// still forwarded, rather than registering it anew and so ending the
	// forward: for a client that registers a name only to act as it.
	KeepForward bool `json:"keep_forward,omitempty"`
	// KeepsKeys says the connection keeps the name's live keys in memory
	// (an HTTP face): a revoke of them is answered only once it has said,
	// with key_seen, that it forgot them.
	KeepsKeys bool `json:"keeps_keys,omitempty"`
	// Holder, when set, is an id of the process that claims the name,
	// the same on every register and resume it sends: a register of a
	// name another connection acts as under another Holder is refused.
	// Two assistants started on one data folder share its session ids
	// and tokens, and without it both registering one name at once
	// would both act as it, sharing one inbox.
	Holder string `json:"holder,omitempty"`
}

// ResumeRequest binds the connection to the name Token was issued for.
// RenameRequest is set by a client whose rename was in flight when it lost
// its broker: with it, a token revoked by that very rename resumes as the new
// name.
type ResumeRequest struct {
	Token         string `json:"token"`
	RenameRequest string `json:"rename_request,omitempty"`
	Subscribe     bool   `json:"subscribe,omitempty"`
	KeepsKeys     bool   `json:"keeps_keys,omitempty"` // as RegisterRequest's
	Holder        string `json:"holder,omitempty"`     // as RegisterRequest's
}

// Session is the result of register, resume and rename: the name the
// connection now acts as and a fresh token for it.
type Session struct {
	Name    string    `json:"name"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	Resumed bool      `json:"resumed,omitempty"`
	Unread  int       `json:"unread"`
	// EndedForward is set by a register or a rename that took a name
	// renamed away: the name mail to it was forwarded to until then.
	EndedForward string `json:"ended_forward,omitempty"`
}

// SendRequest sends a message. ID is made by the client and is reused when
// the request is retried, which is how the broker drops duplicates.
type SendRequest struct {
	ID string `json:"id"`
	Outgoing
}

// Outgoing is what the sender says of a message: Content for To, an
// instance name or "#channel" for a post to a channel. Type is one of
// ipcmesh.Types ("" is a plain message), ReplyTo the id of a message the
// sender may read (the new message joins its thread), Shared a shared-data
// key the message points at. It is the send request of the MCP tool and of
// the HTTP face as well, which make the id themselves (from the call's
// idempotency key), so its field descriptions serve their schemas.
type Outgoing struct {
	To      string `json:"to" jsonschema:"an instance name, or #channel to post to a channel"`
	Content string `json:"content" jsonschema:"the message text"`
	Type    string `json:"type,omitempty" jsonschema:"what the message is for: message (default), request, response, status, handoff or done"`
	ReplyTo string `json:"reply_to,omitempty" jsonschema:"id of the message this answers: the new one joins its thread"`
	Shared  string `json:"shared,omitempty" jsonschema:"a key of shared data the message points at, so the bulk need not travel in it"`
}

// SendResult says what became of a message.
type SendResult struct {
	Message ipcmesh.Message `json:"message"`
	// Online is true when the recipient had a connection at the time; it
	// was pushed the message if that connection subscribed.
	Online bool `json:"online"`
	// Queued is true when the recipient has never registered: the message
	// waits for it (QueueDays) and Suggestions lists near names in case the
	// name was mistyped.
	Queued      bool     `json:"queued,omitempty"`
	QueueDays   int      `json:"queue_days,omitempty"`
	Suggestions []string `json:"suggestions,omitempty"`
	// Forwarded is true when To was renamed: Message.To is the new name.
	Forwarded bool `json:"forwarded,omitempty"`
	// Duplicate is true when this ID had been stored already (a retry).
	// election.Peer takes it out of the answer to a send it sent again
	// after its broker was lost, when the message stored holds its text:
	// that is its own first try.
	Duplicate bool `json:"duplicate,omitempty"`
	// Channel is set for a channel post: the normalised channel name.
	// Members counts the members it was delivered to (every member but the
	// sender), and Online says whether any of them was connected.
	Channel string `json:"channel,omitempty"`
	Members int    `json:"members,omitempty"`
}

// Fate is what became of a sent message, the one fact every face tells its
// sender first, each in its own words.
type Fate int

const (
	Delivered    Fate = iota // the recipient is online now
	Stored                   // the recipient is offline: it gets it on its next check
	Queued                   // nobody has registered the name yet (see Suggestions)
	Posted                   // posted to a channel; some of its members are online
	PostedQuiet              // posted to a channel; none of its members are online
	PostedNobody             // posted to a channel with no other member: only history shows it
)

// Fate says what became of the message.
func (r SendResult) Fate() Fate {
	switch {
	case r.Message.Channel != "" && r.Members == 0:
		return PostedNobody
	case r.Message.Channel != "" && r.Online:
		return Posted
	case r.Message.Channel != "":
		return PostedQuiet
	case r.Queued:
		return Queued
	case r.Online:
		return Delivered
	}
	return Stored
}

// BroadcastRequest sends Content to every registered instance but the
// sender. Each recipient's copy has the id ID + "." + recipient.
type BroadcastRequest struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

// BroadcastResult lists who the broadcast reached.
type BroadcastResult struct {
	Recipients []string `json:"recipients"`
	Online     []string `json:"online,omitempty"`
	// Failed maps a recipient whose copy was refused (inbox_full) to why.
	Failed map[string]string `json:"failed,omitempty"`
	// Duplicate lists the recipients, among Recipients, whose copy had
	// been stored already under this ID, by an earlier try whose answer
	// was lost: nothing new was stored for them now. A broadcast sent
	// again with its ID lists every recipient it had reached here, and
	// stores a copy only for those it had not (one registered since).
	// election.Peer empties it for a broadcast it sent again after its
	// broker was lost, when a copy holds its text: its own first try.
	Duplicate []string `json:"duplicate,omitempty"`
}

// DefaultCheckLimit and MaxCheckLimit bound the messages one check
// returns: a limit of 0 or less is DefaultCheckLimit, one over
// MaxCheckLimit is MaxCheckLimit.
const (
	DefaultCheckLimit = 100
	MaxCheckLimit     = 1000
)

// CheckRequest asks for unread messages, oldest first. With WaitMS and an
// empty inbox, the broker holds the request until a message arrives or the
// time runs out. With From, only the direct messages from that instance
// count (under any of its names, as for search), so a check waits for its
// next message; the rest stay unread for a plain check. With After, only
// the messages whose seq is above it count: a reader reads on past a page
// it does not ack by asking after the page's last seq. A broker older than
// After ignores it and answers from the oldest unread message again.
type CheckRequest struct {
	Limit  int    `json:"limit,omitempty"` // <= 0: DefaultCheckLimit; at most MaxCheckLimit
	WaitMS int64  `json:"wait_ms,omitempty"`
	From   string `json:"from,omitempty"`
	After  uint64 `json:"after,omitempty"`
}

// CheckResult holds unread messages. They stay unread until acked.
type CheckResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	// Remaining counts the unread messages this page leaves out: with
	// From, those from anyone; with After, those up to it too. So it may
	// count more than a page after this one holds, and a reader that
	// reads on with After stops at an empty page.
	Remaining int `json:"remaining"`
}

// AckRequest marks messages read.
type AckRequest struct {
	IDs []string `json:"ids"`
}

// AckResult says how many messages left the inbox.
type AckResult struct {
	Acked int `json:"acked"`
}

// FetchRequest asks for one message with its whole body, or with the
// part of it that Part asks for (revision 3).
type FetchRequest struct {
	ID string `json:"id"`
	Part
}

// FetchResult holds a message and its whole body, or the part of it asked
// for: then the message's own content is that part too when it is the
// body (a message that is not large), and Message.Size is the whole
// body's size.
type FetchResult struct {
	Message ipcmesh.Message `json:"message"`
	Content string          `json:"content"`
	// Offset is where Content starts in the whole body.
	Offset int `json:"offset,omitempty"`
}

// ListResult lists registered instances.
type ListResult struct {
	Instances []ipcmesh.Instance `json:"instances"`
}

// RenameRequest moves the connection's instance to NewName. RequestID is
// made by the client and reused on retry.
type RenameRequest struct {
	RequestID string `json:"request_id"`
	NewName   string `json:"new_name"`
}

// RenamedEvent tells others that Old is now New.
type RenamedEvent struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// UnregisteredEvent names the name whose session an unregister ended.
type UnregisteredEvent struct {
	Name string `json:"name"`
}

// GoawayEvent announces a graceful shutdown.
type GoawayEvent struct {
	Reason string `json:"reason"`
}

// StatusResult describes the broker.
type StatusResult struct {
	Broker      BrokerInfo `json:"broker"`
	Version     int        `json:"version"`
	Uptime      string     `json:"uptime"`
	Connections int        `json:"connections"`
	Online      []string   `json:"online"`
	Waiting     int        `json:"waiting"` // checks and reply waits held open for mail now
	// Store is StoreOK when the store answered, StoreUnavailable when it
	// did not (a full disk it has not mended from yet, a cluster without
	// quorum), and "" from a broker older than the field, which answered
	// with an error instead. StoreError says what the store answered.
	// The counts are the store's, nil when it did not answer: status is
	// what a user runs to see what is wrong, so the rest is answered
	// whatever the store's state.
	Store      string `json:"store,omitempty"`
	StoreError string `json:"store_error,omitempty"`
	Instances  *int   `json:"instances,omitempty"`
	Messages   *int   `json:"messages,omitempty"`
	Unread     *int   `json:"unread,omitempty"`
	SecretFrom string `json:"secret_from,omitempty"`
	// StoreBytes and StoreFree are the size of the database file and how
	// much of it is free; both 0 for a store kept elsewhere (a cluster).
	StoreBytes int64 `json:"store_bytes,omitempty"`
	StoreFree  int64 `json:"store_free_bytes,omitempty"`
	// StoreDiskFree is the room left on the file system that holds the
	// database file; nil when the system does not say, or for a store
	// kept elsewhere.
	StoreDiskFree *int64 `json:"store_disk_free_bytes,omitempty"`
	// StoreRefused is the latest of the store's writes that its disk
	// refused for want of room or of permission, told while no write was
	// taken after it and for ten minutes once one was (store.Refusal);
	// Since is the first of the refusals no taken write came between,
	// Last the latest, and StoreTaken when the latest write was taken
	// after it, zero while none was. StoreRefusedFor is "permission"
	// when the latest was refused for want of permission (a folder or
	// file system made read-only), and empty for want of room, which an
	// older broker's refusals all were. A store whose writes are refused
	// is otherwise whole (Store is StoreOK): it answers reads, and writes
	// that fit go on.
	StoreRefused      string    `json:"store_refused,omitempty"`
	StoreRefusedFor   string    `json:"store_refused_for,omitempty"`
	StoreRefusedSince time.Time `json:"store_refused_since,omitzero"`
	StoreRefusedLast  time.Time `json:"store_refused_last,omitzero"`
	StoreTaken        time.Time `json:"store_taken,omitzero"`
	// Log is where the cluster's log stands, for a store kept in a NATS
	// cluster; nil for the bbolt store, or when the cluster did not say
	// in time.
	Log *LogStatus `json:"log,omitempty"`
	// LogError is why the cluster did not say where its log stands, when
	// it did not: without quorum every write fails while the counts,
	// read from this broker's view, look as they always do.
	LogError string `json:"log_error,omitempty"`
	// Cluster names the NATS cluster a store kept in one uses, whether
	// or not it answered; nil for the bbolt store.
	Cluster *ClusterStatus `json:"cluster,omitempty"`
}

// ClusterStatus names the NATS cluster of a mesh kept in one
// (store.LogState).
type ClusterStatus struct {
	Stream    string `json:"stream"`
	Replicas  int    `json:"replicas"`
	Servers   string `json:"servers"`             // as the broker was given them, without credentials
	Connected string `json:"connected,omitempty"` // the server the broker is connected to; absent while none
}

// LogStatus is where the log of a mesh kept in a NATS cluster stands.
type LogStatus struct {
	First   uint64 `json:"first"` // the oldest event the log holds: past 1 once trimmed
	Last    uint64 `json:"last"`
	Bytes   uint64 `json:"bytes"`
	Applied uint64 `json:"applied"` // the last event the broker's view applied
	// Copy is the event the newest copy of the views was made at, which
	// a broker with a new data folder starts from; left out while there
	// is none. Every is how many events apart the copies are made.
	Copy   uint64    `json:"copy,omitempty"`
	Copied time.Time `json:"copied,omitzero"`
	Every  uint64    `json:"every"`
	// CopiesError, when set, says why the copies of the views could not
	// be listed; Copy and Copied are then unknown, not absent.
	CopiesError string `json:"copies_error,omitempty"`
	// Current is how many of the servers that keep the log hold all of
	// it now, its leader among them; Behind names the others (down, cut
	// off or catching up), left out while there are none.
	Current int      `json:"current,omitempty"`
	Behind  []string `json:"behind,omitempty"`
}

// RefusedForPermission is StatusResult.StoreRefusedFor of a write the
// file system refused for want of permission.
const RefusedForPermission = "permission"

// The states of StatusResult.Store.
const (
	StoreOK          = "ok"
	StoreUnavailable = "unavailable"
)

// BackupResult names the copy the broker wrote inside its data folder; the
// client moves it where the user asked.
type BackupResult struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Missing names the files that records of the store name but that
	// were removed from the data folder or changed by hand, as
	// folder/name, the record and what became of the file
	// ("large-messages/X.md (message "id", removed)"): the copy lacks
	// them, as the store does. At most MaxMissingShown are named;
	// MoreMissing counts the others.
	Missing     []string `json:"missing,omitempty"`
	MoreMissing int      `json:"more_missing,omitempty"`
}

// MaxMissingShown bounds BackupResult.Missing: a store that lost a whole
// folder of files would otherwise answer with a list past a frame's size.
const MaxMissingShown = 20
