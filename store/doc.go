// Package store keeps everything the ipcmesh broker must not lose: instances
// and their sessions, inboxes, messages and their large bodies, rename
// forwards and rename request ids, channels with their members' read
// cursors, shared data, and the indexes behind conversations, threads and
// search. In the data folder it owns the database, the send journal,
// large-messages/, shared/ and backups/; the other files there belong to
// the packages that write them: the secret and sessions/ (the client's
// tokens) to auth, autocheck/ to autocheck, and the broker's record and
// log (broker.json, broker.log) to election.
//
// What it promises:
//
//   - A write has been committed to disk with fsync before the call that made
//     it returns, and survives a crash of any process or of the machine,
//     power loss included. Writers running at the same time share one
//     commit (group commit), so a busy broker pays for one fsync per round,
//     not one per message, and one refused request never fails the others.
//   - On Linux a batch of sends and acks alone (no large bodies) is acked
//     after one fdatasync, of its record in the send journal, not bbolt's
//     two; its writes wait in a transaction left open for the batches that
//     follow, and bbolt commits them together, without syncs, when a read
//     or another write needs them or after a 2 ms lull. A check or fetch
//     of one recipient's mail reads inside that transaction instead, so a
//     reply is not read behind a commit, unless it would walk channel logs
//     or filter by sender, which no page bounds. A commit of
//     anything else costs bbolt's two syncs, and one more to clear the
//     journal when sends or acks came since the last such commit. Open
//     makes the journal's sends and acks again after a crash (see
//     journal.go, and docs/SECURITY.md, 3.13).
//   - A store opened with NoSync, which its owner rebuilds from elsewhere
//     (natsstore's view of the cluster's log), may make a run of writes
//     one commit (Together): each is answered as soon as it is in the
//     transaction, and the caller tells nobody of it before the commit.
//     SetApplied records in that commit how far the store holds the log
//     it is rebuilt from, so that after a crash the owner goes on from
//     there and applies no event twice.
//   - A read sees every write acked before it began. Reads never wait
//     behind writes, but for the commit of sends and acks that are acked
//     and not committed yet; a check or fetch waits instead for its turn
//     in the writer, between two batches.
//   - One data folder serves one broker: a second Open on the same folder,
//     from any process, fails with ErrLocked.
//   - Reading an inbox costs in proportion to its unread messages, not to
//     the history kept beside it; Sweep costs in proportion to what expires.
//     Unread covers the joined channels the same way (each channel log is
//     read from the reader's cursor on), UnreadAfter reads from its seq on
//     (a page past unread mail costs what the first page does), a conversation, channel history or
//     thread page costs in proportion to the page, and a search examines at
//     most a bounded number of candidates.
//   - Sends never pay for search: a background indexer adds committed
//     messages to the words index in batches, in the writer's idle time
//     (after a 20 ms lull in sends, or once its backlog has waited 2 s, and
//     then at most a tenth of the writer's time while sends go on), and
//     Search scans the tail it has not reached yet.
//   - Names are checked with ipcmesh.ValidateName before they become keys,
//     and the files that hold large bodies are named only from the clock and
//     random bytes, so no sender or recipient can steer a path.
//   - The data folder and large-messages/ are 0700, every file in them 0600.
//
// Errors a person must act on (invalid_name, too_large, inbox_full,
// conflict, not_found, rename_loop, name_taken, bad_request) are *ipcmesh.Error, and so is a
// full disk (unavailable, naming the data folder to free space in), which
// Disk tells too, with the room left; anything else is a fault of the disk or the
// database, wrapped with what was being done.
//
// # Layout
//
// The database is Dir/ipcmesh.db, a bbolt file with these top-level buckets:
//
//	messages        seq -> message record (every stored message, read or not);
//	                its NextSequence hands out the store-wide seq
//	ids             message id -> seq (dedup; lives as long as the message)
//	inboxes         one nested bucket per recipient: seq -> message id,
//	                holding only unread messages
//	unread          name -> count of its inbox (kept in step with inboxes)
//	instances       name -> instance record (registered, last seen)
//	sessions        name -> session (id, expiry)
//	forwards        old name -> forward (new name, until)
//	renames         rename request id -> result and until
//	history         read time + seq -> nil (expiry index of read messages)
//	queued          append time + seq -> nil (mail to unregistered names)
//	forward-expiry  until + old name -> nil
//	rename-expiry   until + request id -> nil
//	meta            counters: instances, messages, unread; "indexed", the
//	                search watermark (every seq up to it is indexed);
//	                "applied", in a view of a log, the last event of it
//	                the view holds (SetApplied)
//	channels        channel name -> channel record (JSON: description,
//	                private, creator, created, sorted members)
//	channel-stats   channel name -> posts stored, last post time, last
//	                post seq (3 x 8 bytes, rewritten by every post)
//	cursors         member 0 channel -> seq of the last post it acked
//	channel-log     channel 0 seq -> sender name (every post of a channel;
//	                posts are stored once and never put in inboxes)
//	channel-expiry  post time + seq -> nil (posts expire HistoryRetention
//	                after they were posted)
//	conversations   a 0 b 0 seq -> nil, a < b: every direct message between
//	                a and b, either way
//	threads         len(id) (2 bytes) id seq -> nil: every message whose
//	                Thread is id (the first message is found by its id)
//	words           word 0 seq -> nil: the search index's posting lists
//	shared          key -> len(meta) meta(JSON) content: shared data; the
//	                content is in Dir/shared/ when over LargeMessageBytes
//	access-keys     key id -> ipcmesh.AccessKey (JSON): the records of the HTTP
//	                face's bearer keys, never the keys themselves
//	earlier-names   new name 0 rename time old name -> nil: every rename, so
//	                a sender filter finds mail sent under earlier names
//	                (kept for good: a rename is a few dozen bytes)
//	backup-files    only in a backup: large-messages/ and shared/, each a
//	                bucket of file name -> content; Open writes them out
//	                and drops the bucket
//
// Seqs and times in keys are 8-byte big-endian, so keys sort in time order
// and Sweep only walks the expired front of each index. Names, channel
// names and words never hold a 0 byte, which therefore separates the parts
// of a composite key. A message's entries in conversations, channel-log,
// threads and words go with it when it is swept.
//
// Dir/ipcmesh.journal is the send journal: a header naming the last commit
// bbolt synced (with a copy of its meta page), then one crc-checked record
// per commit of sends and acks since, each the drafts it stored or the
// ack's name and ids, and the time they were made at. It names nothing
// once the store is closed in order.
//
// bbolt reuses the pages a commit frees but never gives them back: the
// file stays as large as the most the store ever held. Compact writes a
// copy that holds only the pages in use beside it, as
// Dir/.ipcmesh.db.*.compact, checks it and renames it over the file;
// one that a crash left there is removed by Open and by the next Compact.
//
// Bodies longer than Options.LargeMessageBytes are written to
// Dir/large-messages/ and the message record keeps a summary and the file's
// base name. Shared values over that size are written to Dir/shared/ the
// same way. A file there that no record names (a broker killed between
// writing a body and committing its record leaves one) is removed by
// Sweep once it is past an hour old.
package store
