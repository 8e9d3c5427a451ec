// Package natsstore keeps the mesh's state in a NATS JetStream cluster, so
// that the brokers of several hosts serve one mesh and no host is a single
// point of failure. It implements the same store as package store (bbolt on
// one host, the default) and is chosen with IPC_STORE=nats://...
//
// # How
//
// Every write (a message, an ack, a session, a rename, a channel change,
// shared data, an access key) is one event in one JetStream stream, the
// log, replicated by the cluster (R3 by default). Every broker applies the
// whole log, in order, to a view of its own: a bbolt store of package store
// in DATA/nats/PREFIX, whose code makes every decision exactly as on one
// host. The event's time is the view's clock while it is applied, and the
// retention rules run at the same events everywhere, so all views hold the
// same and decide the same: the same seq for a message, the same duplicate,
// the same refusal. Where a host's settings would decide, the event
// carries those of the broker that wrote it, and every view decides by
// them: a message or shared value its limits (store.Limits:
// IPC_MAX_MESSAGE_BYTES, IPC_INBOX_CAP), every event its history retention
// (IPC_HISTORY_RETENTION), by which the views sweep at it. So hosts whose
// settings differ still hold the same mail. A write returns what applying
// it gave; reads are served from the view, which follows the log a moment
// behind other brokers' writes: a broker about to refuse for want of
// something its view lacks (a channel made on another host an instant
// ago) calls CatchUp first.
// The view is a copy: it skips fsync, and a view that is missing, damaged
// or of another stream is built anew from the log.
//
// Which broker holds a name is not in the log but in a key-value bucket
// (PREFIX-names) with a TTL: taking a name is one compare-and-set that the
// cluster refuses while another broker's lease exists (a refusal is
// believed once it has held for half a second, as the bucket's reads may
// come from a replica a moment behind a release), the holder renews
// its lease three times per TTL, and a host that dies loses its names once
// the TTL has passed. A lease that ran out while the cluster could not be
// written (a quorum lost for longer than the TTL) is taken again by its
// host, whose instances still act as the name, unless another host took
// it first.
//
// # What it promises
//
// Those of package store that apply, and:
//
//   - A write is acknowledged only after the cluster acked its event at the
//     stream's replication level (a majority of the replicas have it) and
//     this broker's view applied it. A cluster without quorum acks nothing:
//     writes fail with unavailable after Options.WriteTimeout (12 s,
//     which outlasts the election of a leader after a server died; a large
//     event's body has as long again, and two seconds for every 256 KiB,
//     for its upload and its read back), and nothing is reported stored
//     that the cluster does not hold. Those 12 s are the broker's to wait: a request of a write
//     whose time ran out while its process did not run (stopped with
//     SIGSTOP or Ctrl-Z) is made again for 2 s once it runs (a large
//     body's upload for its transfer time more), so that what the cluster
//     stored while the broker was stopped is acked rather than reported
//     failed: the event, published again under the same id; the body,
//     uploaded again; the name of a register, taken again by the host
//     that holds it, and the session after it, whose time (the
//     register's) ran out in the stop as well. Past the log's 2-minute
//     duplicate window, which would store the event again, it is not.
//   - A message id is stored once, whichever broker a retry reaches and
//     however many times brokers restart: the views dedup by id exactly as
//     bbolt does, and the stream drops a republished event within its
//     2-minute duplicate window.
//   - Mail stored by another broker is pushed at once: the log is read
//     through an ordered consumer, which the server pushes to, not polled.
//     So is an access key another broker revoked, to its name's
//     connections here (Revocations). A view whose consumer delivered
//     nothing for a second asks the cluster where the log ends and reads
//     what it lacks itself, so mail is pushed within seconds while the
//     client library makes anew a consumer whose server died or hung,
//     and a write of its own, which waits 100 ms for the consumer to
//     bring its event, waits so once while the consumer is silent.
//     A server that hangs holds none of that up: a read of the log that
//     it leaves unanswered is asked of the log's leader instead, which
//     its peers elect elsewhere within seconds.
//   - The mesh's replicas and lease TTL are those it was made with: a
//     broker given fewer replicas, or another lease, keeps the mesh's
//     (and logs so), since changing them would change them under the
//     brokers that run; one given more replicas raises them.
//   - Reads cost what they cost on bbolt, since they are bbolt reads:
//     unread mail in proportion to the unread, history by the page, search
//     from each view's own index, which holds every message of the log.
//   - A name is held by one broker mesh-wide.
//   - Every broker of a mesh runs with the mesh's shared secret: the first
//     records a tag of its secret (Options.SecretTag) in the bucket
//     PREFIX-mesh, and one with another is refused (*OtherSecretError)
//     until the secret is changed on purpose (Options.NewSecret).
//   - A large body is whole in the cluster before its event names it.
//     The client library can store a body damaged and report it stored
//     (a chunk sent again, after the bucket's stream had no leader for a
//     moment, carries a later chunk's data), and an event naming it would
//     stop every view. So the write reads the body back before it
//     publishes the event, and puts it again, up to three times, while it
//     does not come back as it was sent; then the write fails with
//     unavailable, and no event names the damaged object, which the views
//     remove as they remove any that none names. What it costs: the body
//     crosses once more, back from the cluster, per large write.
//
// # What it cannot promise that bbolt does
//
//   - An ack is not an fsync. bbolt acks a write once it is on the
//     broker's disk. JetStream acks once a majority of the replicas have
//     the event, and a NATS server writes its file store to disk every
//     2 minutes by default (sync_interval), not at each write: an acked
//     write survives the crash of any process and the loss of a minority
//     of the servers, but not a power failure of a majority of them
//     within that interval. The embedded nodes (ipcmesh cluster, broker
//     --nats-node) keep the default; a cluster of one's own can set
//     sync_interval: always and pay an fsync per write on every server.
//   - Writes need a quorum. bbolt writes while its host runs; here a
//     cluster that lost most of its servers refuses every write
//     (unavailable), while reads go on from the view.
//   - A name outlives its host for up to Options.LeaseTTL. On one host
//     the broker knows at once that an instance's connection is gone;
//     here a host that died keeps the names its instances were connected
//     as until its lease runs out (sessions still hold a name as they do
//     on one host).
//   - Retention erases late. Messages the retention rules remove from
//     the views, and the bodies of large events, stay in the log and the
//     object store until the log is trimmed below them (see below): up
//     to two intervals of DefaultSnapshotEvery events later.
//   - A push waits for the ack. bbolt pushes a message to its online
//     recipient while its commit is in flight; here only after the
//     cluster acked it, since the log's order decides its seq.
//   - A backup is of the view. "ipcmesh backup" writes this broker's view,
//     a bbolt store that restores on one host; the log itself is the
//     cluster's to back up.
//   - A large body can be lost apart from its event: it is in the object
//     store PREFIX-bodies, and the log holds a stub naming it. If the
//     object is gone when a view reads the event (an operator removed it,
//     the bucket was damaged, a sweep removed it wrongly), the view asks
//     for it for 10 s, as it asks a replica a moment behind, then logs an
//     error naming the object and the event and applies the event without
//     its bodies: the message is delivered with its id, sender,
//     recipients, type, thread and seq, and a body saying that its body
//     (so many bytes) was lost from the cluster's object store, naming the
//     object, and that its sender may send it again; a shared value is
//     held so under its key. Every view that reads the event after the
//     loss (a new one, one restarted or lagging behind it) holds the same
//     and applies the events after it; one that applied the event before
//     keeps the body. The stub of an older broker, or of too many messages
//     at once to describe in one NATS message, says nothing else of what
//     the event held: lost, the event is skipped, with the same error.
//     Only an object the store says it does not hold is lost: a read that
//     times out or finds the cluster without a leader is made again, and
//     one whose digest does not match stops the view, as a missing bucket
//     stops a running one; a broker that opens makes the bucket anew,
//     empty, and the objects it held are then lost as above.
//
// # How the log stays bounded
//
// Every DefaultSnapshotEvery events (100,000), the broker that wrote the
// event at that point puts a copy of its view into the object store
// PREFIX-snapshots, and the log is trimmed below the copy before it: the
// log holds the events since the older of the two newest copies, and a
// broker whose view is missing, of another log, or behind the newest copy
// starts from that copy and applies the log after it. A broker that runs
// and finds the log trimmed past its view (it lagged a whole interval
// behind: its host asleep, its connection lost for long) restores the
// newest copy in its place and goes on. A copy is read back once put, as
// a large body is, and removed, the log left untrimmed, if it is not
// whole; a copy that cannot be read when needed (gone, or damaged since)
// gives way to the one before it, which the log still follows. LogState
// says which events the log holds and when the newest copy was made
// (status shows it). Events too large for one NATS message (a large
// message or shared value) are kept in the object store PREFIX-bodies;
// the views remove an object once
// only events trimmed from the log name it, and once it is a day old by
// the cluster's clock (DefaultOrphanAge). A body is uploaded before its
// event is published; one whose event never was (the write failed
// between the two, or its broker died there) is named by nothing, and
// the views remove it at the same age; so are the chunks of an upload
// cut short (its broker killed in the middle of a body or of a copy of
// its view), which no object points at, purged from both buckets.
package natsstore
