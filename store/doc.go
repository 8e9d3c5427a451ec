// Package store keeps everything the ipcmesh broker must not lose: instances
// and their sessions, inboxes, messages and their large bodies, rename
// forwards and rename request ids. It is the only package that touches the
// data folder.
//
// What it promises:
//
//   - A write has been committed to disk with fsync before the call that made
//     it returns. Writers running at the same time share one commit (group
//     commit), so a busy broker pays for one fsync per round, not one per
//     message, and one refused request never fails the others.
//   - Reads never wait behind writes.
//   - One data folder serves one broker: a second Open on the same folder,
//     from any process, fails with ErrLocked.
//   - Reading an inbox costs in proportion to its unread messages, not to
//     the history kept beside it; Sweep costs in proportion to what expires.
//   - Names are checked with ipcmesh.ValidateName before they become keys,
//     and the files that hold large bodies are named only from the clock and
//     random bytes, so no sender or recipient can steer a path.
//   - The data folder and large-messages/ are 0700, every file in them 0600.
//
// Errors a person must act on (invalid_name, too_large, inbox_full,
// conflict, not_found, rename_loop) are *ipcmesh.Error; anything else is a
// fault of the disk or the database, wrapped with what was being done.
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
//	meta            counters: instances, messages, unread
//
// Seqs and times in keys are 8-byte big-endian, so keys sort in time order
// and Sweep only walks the expired front of each index.
//
// Bodies longer than Options.LargeMessageBytes are written to
// Dir/large-messages/ and the message record keeps a summary and the file's
// base name.
package store
