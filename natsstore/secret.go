package natsstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The mesh's shared secret, as the cluster knows it. Every view holds
// every session, and a broker takes a name whose session was made under
// another secret than its own as a name no one holds (SECURITY.md 3.8).
// So a host whose broker has another secret than the others, which is
// what a host that was not given IPC_SHARED_SECRET has (a secret file of
// its own), would register the names of the other hosts' offline
// instances and read their mail, and they its, each taking the names back
// in turn, with no error anywhere. The first broker records the tag of its
// secret in the cluster; a broker with another one is refused when it
// opens, until the mesh's secret is changed on purpose (Options.NewSecret).

// meshBucket names the key-value bucket of the mesh's settings that no
// stream or bucket configuration holds. Unlike the names bucket, it has
// no TTL: a record there stays until it is changed.
func meshBucket(prefix string) string { return prefix + "-mesh" }

// secretKey is the key of the secret's record in the mesh bucket.
const secretKey = "secret"

// secretRecord says which secret the mesh's brokers run with, and who
// recorded it, for the error that refuses another.
type secretRecord struct {
	Tag      string    `json:"tag"` // auth.Keys.SessionTag of the secret
	Host     string    `json:"host,omitempty"`
	Folder   string    `json:"folder,omitempty"`
	Recorded time.Time `json:"recorded"`
}

// OtherSecretError refuses a broker whose shared secret is not the one
// the mesh in the cluster was made with.
type OtherSecretError struct {
	Mesh, Cluster string // the prefix and the cluster's servers (redacted)
	// Host and Folder are the host name and data folder of the broker
	// that recorded the mesh's secret, at Recorded.
	Host, Folder string
	Recorded     time.Time
	// Yours says where this broker's secret came from, when its caller
	// knows: the likely cause of the two differing.
	Yours string
}

func (e *OtherSecretError) Error() string {
	yours := ""
	if e.Yours != "" {
		yours = ", " + e.Yours
	}
	by := cmp.Or(e.Host, "another host")
	if e.Folder != "" {
		by += " (data folder " + e.Folder + ")"
	}
	return fmt.Sprintf("the mesh %s in the NATS cluster %s runs with another shared secret than this broker's%s; the broker on %s recorded the mesh's %s. "+
		"Every broker of a mesh needs the same IPC_SHARED_SECRET, or the brokers of one host take the names of the other hosts' instances and read their mail: "+
		"give this broker the IPC_SHARED_SECRET the other hosts have (or, if they have none either, a copy of the secret file of that data folder); if the mesh's secret is being changed, stop the brokers of every host, then start one with `ipcmesh broker --new-secret`",
		e.Mesh, e.Cluster, yours, by, e.Recorded.UTC().Format(time.RFC3339))
}

// checkSecret records this broker's secret as the mesh's if the mesh has
// none yet (a new mesh, or one made by a build that did not record it),
// and refuses the broker if the mesh has another, unless it was started to
// change it. A store opened without a secret (Options.SecretTag empty)
// checks nothing.
func (s *Store) checkSecret(ctx context.Context, host string) error {
	if s.opts.SecretTag == "" {
		return nil
	}
	kv, err := s.js.KeyValue(ctx, meshBucket(s.stream))
	if err != nil {
		return fmt.Errorf("open the mesh's settings bucket: %w", err)
	}
	mine := secretRecord{Tag: s.opts.SecretTag, Folder: s.dir, Recorded: time.Now().UTC()}
	mine.Host, _ = os.Hostname()
	value, err := json.Marshal(mine)
	if err != nil {
		return err
	}
	// Two brokers may record at once: the cluster takes one Create, and
	// one Update of a revision; the loser reads the winner's record.
	for {
		e, err := kv.Get(ctx, secretKey)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			_, err = kv.Create(ctx, secretKey, value)
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue
			}
			if err != nil {
				return fmt.Errorf("record the mesh's secret: %w", err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the mesh's secret: %w", err)
		}
		var theirs secretRecord
		if err := json.Unmarshal(e.Value(), &theirs); err != nil || theirs.Tag == "" {
			// Not a record of ours: write ours in its place.
			theirs = secretRecord{}
		}
		if theirs.Tag == mine.Tag {
			return nil
		}
		if theirs.Tag != "" && !s.opts.NewSecret {
			return &OtherSecretError{Mesh: s.stream, Cluster: Redacted(s.opts.URL), Host: theirs.Host, Folder: theirs.Folder, Recorded: theirs.Recorded}
		}
		if theirs.Tag != "" {
			if err := s.othersStopped(ctx, host); err != nil {
				return err
			}
		}
		if _, err := kv.Update(ctx, secretKey, value, e.Revision()); err != nil {
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue
			}
			return fmt.Errorf("record the mesh's new secret: %w", err)
		}
		if theirs.Tag != "" {
			s.log.Warn("the mesh's shared secret is this broker's now: brokers with the one before are refused", "mesh", s.stream)
		}
		return nil
	}
}

// othersStopped refuses to change the mesh's secret while brokers of
// other hosts hold names: they run with the secret before, and their
// instances would hold names under it that brokers with the new one take
// from them.
func (s *Store) othersStopped(ctx context.Context, host string) error {
	kv, err := s.js.KeyValue(ctx, namesBucket(s.stream))
	if err != nil {
		return fmt.Errorf("open the names bucket: %w", err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list the names held: %w", err)
	}
	var held []string
	for name := range keys.Keys() {
		e, err := kv.Get(ctx, name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return fmt.Errorf("read who holds %s: %w", name, err)
		}
		if string(e.Value()) != host {
			held = append(held, name)
		}
	}
	if len(held) == 0 {
		return nil
	}
	slices.Sort(held)
	shown := held[:min(len(held), 5)]
	return fmt.Errorf("the mesh's secret was not changed: brokers of other hosts still run with the one before, holding %d names (%s): stop them first (their names are free %v after), then start this broker with --new-secret again",
		len(held), strings.Join(shown, ", "), s.opts.LeaseTTL)
}
