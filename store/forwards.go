package store

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// maxHops bounds a forward chain; real chains are a rename or two long.
const maxHops = 16

// forward sends mail for a renamed name on to its new name until Until.
type forward struct {
	To    string    `json:"to"`
	Until time.Time `json:"until"`
}

// Resolve returns the name that mail for name reaches: name itself, or the
// end of its chain of unexpired rename forwards (a -> b -> c). It fails with
// rename_loop when the chain goes round in a circle or runs past 16 hops.
func (s *Store) Resolve(name string) (string, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return "", err
	}
	var final string
	err := s.view(func(tx *bolt.Tx) error {
		chain, err := forwardChain(tablesOf(tx).forwards(), name, s.now())
		if err != nil {
			return err
		}
		final = chain[len(chain)-1]
		return nil
	})
	if err != nil {
		return "", wrapFault("resolve "+name, err)
	}
	return final, nil
}

// forwardChain returns name followed by every name its unexpired forwards
// lead to, in order.
func forwardChain(forwards *bolt.Bucket, name string, now time.Time) ([]string, error) {
	chain := []string{name}
	for {
		cur := chain[len(chain)-1]
		f, ok, err := getForward(forwards, cur)
		if err != nil {
			return nil, err
		}
		if !ok || !now.Before(f.Until) {
			return chain, nil
		}
		if slices.Contains(chain, f.To) {
			return nil, ipcmesh.Errorf(ipcmesh.CodeRenameLoop,
				"mail for %q would go round in circles: the rename forwards form a loop (%s -> %s); registering any of these names again ends its forward and breaks the loop",
				name, strings.Join(chain, " -> "), f.To)
		}
		if len(chain) > maxHops {
			return nil, ipcmesh.Errorf(ipcmesh.CodeRenameLoop,
				"mail for %q would pass more than %d rename forwards (%s -> ...); send to the current name instead",
				name, maxHops, strings.Join(chain[:4], " -> "))
		}
		chain = append(chain, f.To)
	}
}

func getForward(forwards *bolt.Bucket, name string) (forward, bool, error) {
	return getJSON[forward](forwards, name, "forward of %s")
}

// putForward records old -> f.To, replacing any forward old had.
func putForward(t *tables, old string, f forward) error {
	if err := endForward(t, old); err != nil {
		return err
	}
	v, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := t.forwards().Put([]byte(old), v); err != nil {
		return err
	}
	return t.forwardExpiry().Put(timeKey(f.Until, []byte(old)), nil)
}

// endForward removes the forward from name, if any, with its expiry entry.
func endForward(t *tables, name string) error {
	f, ok, err := getForward(t.forwards(), name)
	if err != nil || !ok {
		return err
	}
	if err := t.forwardExpiry().Delete(timeKey(f.Until, []byte(name))); err != nil {
		return err
	}
	return t.forwards().Delete([]byte(name))
}
