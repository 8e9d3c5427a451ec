package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

const sharedDir = "shared"

// sharedMeta is what the shared bucket keeps of a value besides its
// content.
type sharedMeta struct {
	Description string    `json:"description,omitempty"`
	Size        int       `json:"size"`
	StoredBy    string    `json:"stored_by"`
	Time        time.Time `json:"time"`
	File        string    `json:"file,omitempty"` // base name in shared/, for a large value
}

// marshalShared encodes a value as the length of its JSON metadata, the
// metadata, then the content byte for byte (empty when it is in a file).
func marshalShared(m sharedMeta, content string) ([]byte, error) {
	j, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, binary.MaxVarintLen64+len(j)+len(content))
	b = binary.AppendUvarint(b, uint64(len(j)))
	b = append(b, j...)
	return append(b, content...), nil
}

func unmarshalShared(key string, v []byte) (sharedMeta, []byte, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)-w) {
		return sharedMeta{}, nil, fmt.Errorf("shared %s: malformed record", key)
	}
	var m sharedMeta
	if err := json.Unmarshal(v[w:w+int(n)], &m); err != nil {
		return sharedMeta{}, nil, fmt.Errorf("shared %s: %w", key, err)
	}
	return m, v[w+int(n):], nil
}

func (m sharedMeta) view(key string) ipcmesh.Shared {
	return ipcmesh.Shared{Key: key, Description: m.Description, Size: m.Size, StoredBy: m.StoredBy, Time: m.Time}
}

// Share stores sh.Content under sh.Key, replacing any earlier value (whose
// file, if it had one, is removed once the new value is on disk and no
// read of the earlier one is under way). Size and
// Time are set here; StoredBy is the caller's name. Content over
// MaxMessageBytes is too_large; content over LargeMessageBytes is kept in a
// file under Dir/shared/ named by the store. The result has no Content.
func (s *Store) Share(ctx context.Context, sh ipcmesh.Shared) (ipcmesh.Shared, error) {
	return s.share(ctx, sh, s.opts.MaxMessageBytes)
}

// ShareWithin is Share that refuses content by lim, not by the store's own
// limits; a zero field of lim is the store's own.
func (s *Store) ShareWithin(ctx context.Context, sh ipcmesh.Shared, lim Limits) (ipcmesh.Shared, error) {
	return s.share(ctx, sh, lim.or(s.Limits()).MaxMessageBytes)
}

func (s *Store) share(ctx context.Context, sh ipcmesh.Shared, maxBytes int) (ipcmesh.Shared, error) {
	if err := ipcmesh.ValidateSharedKey(sh.Key); err != nil {
		return ipcmesh.Shared{}, err
	}
	if err := ipcmesh.ValidateName(sh.StoredBy); err != nil {
		return ipcmesh.Shared{}, ipcmesh.Errorf(ipcmesh.CodeInvalidName, "stored_by: %v", err)
	}
	if len(sh.Content) > maxBytes {
		return ipcmesh.Shared{}, ipcmesh.Errorf(ipcmesh.CodeTooLarge,
			"shared value %s is %d bytes, over the limit of %d bytes: split it under several keys",
			sh.Key, len(sh.Content), maxBytes)
	}
	m := sharedMeta{
		Description: sh.Description,
		Size:        len(sh.Content),
		StoredBy:    sh.StoredBy,
		Time:        time.Unix(0, s.now().UnixNano()).UTC(),
	}
	inline := sh.Content
	if len(sh.Content) > s.opts.LargeMessageBytes {
		name, err := s.spillTo(s.sharedDir, sh.Content)
		if err != nil {
			return ipcmesh.Shared{}, fmt.Errorf("share %s: %w", sh.Key, err)
		}
		m.File, inline = name, ""
	}
	v, err := marshalShared(m, inline)
	if err != nil {
		s.removeFiles(s.sharedDir, m.File)
		return ipcmesh.Shared{}, fmt.Errorf("share %s: %w", sh.Key, err)
	}
	var oldFile string
	err = s.c.submit(ctx, func(tx *bolt.Tx) error {
		oldFile = ""
		b := tablesOf(tx).shared()
		if prev := b.Get([]byte(sh.Key)); prev != nil {
			pm, _, err := unmarshalShared(sh.Key, prev)
			if err != nil {
				return err
			}
			oldFile = pm.File
		}
		return b.Put([]byte(sh.Key), v)
	})
	if err != nil {
		// A value that may be stored all the same keeps its file, and so
		// does the value it replaced, which a crash may bring back.
		if !mayBeStored(err) {
			s.removeFiles(s.sharedDir, m.File)
		}
		return ipcmesh.Shared{}, wrapFault("share "+sh.Key, err)
	}
	if oldFile != m.File {
		s.afterCommit(ctx, func() { s.removeFiles(s.sharedDir, oldFile) })
	}
	return m.view(sh.Key), nil
}

// GetShared returns the value under key with its Content. A missing key is
// not_found with the near keys as Suggestions.
func (s *Store) GetShared(key string) (ipcmesh.Shared, error) {
	// A value replaced meanwhile keeps its file until this read is done.
	ticket := s.files.hold()
	defer s.files.release(ticket)
	var (
		m       sharedMeta
		content []byte
		found   bool
		keys    []string
	)
	err := s.view(func(tx *bolt.Tx) error {
		b := tablesOf(tx).shared()
		v := b.Get([]byte(key))
		if v == nil {
			return b.ForEach(func(k, _ []byte) error {
				keys = append(keys, string(k))
				return nil
			})
		}
		var err error
		m, content, err = unmarshalShared(key, v)
		// The bytes belong to the transaction.
		content = append([]byte(nil), content...)
		found = err == nil
		return err
	})
	if err != nil {
		return ipcmesh.Shared{}, fmt.Errorf("get shared %s: %w", key, err)
	}
	if !found {
		e := ipcmesh.Errorf(ipcmesh.CodeNotFound, "nothing is shared under the key %q: list the shared keys to see which exist", key)
		e.Suggestions = nearKeys(key, keys)
		if len(e.Suggestions) > 0 {
			e.Message = fmt.Sprintf("nothing is shared under the key %q: did you mean %s?", key, strings.Join(e.Suggestions, ", "))
		}
		return ipcmesh.Shared{}, e
	}
	sh := m.view(key)
	if m.File == "" {
		sh.Content = string(content)
		return sh, nil
	}
	body, err := s.readPlainFile(s.sharedDir, m.File, m.Size)
	if err != nil {
		return ipcmesh.Shared{}, ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"the content shared under %q cannot be read from %s (%v): it was deleted or changed by hand; share it again", key, s.sharedDir, err)
	}
	sh.Content = body
	return sh, nil
}

// nearKeys suggests keys that are a likely typo of key, or hold it.
func nearKeys(key string, keys []string) []string {
	out := ipcmesh.NearNames(key, keys, 3)
	lk := strings.ToLower(key)
	for _, k := range keys {
		if len(out) == 3 {
			break
		}
		if len(lk) >= 3 && strings.Contains(strings.ToLower(k), lk) && !contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ListShared returns every shared value without its content, by key.
func (s *Store) ListShared() ([]ipcmesh.Shared, error) {
	var out []ipcmesh.Shared
	err := s.view(func(tx *bolt.Tx) error {
		return tablesOf(tx).shared().ForEach(func(k, v []byte) error {
			m, _, err := unmarshalShared(string(k), v)
			if err != nil {
				return err
			}
			out = append(out, m.view(string(k)))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list shared: %w", err)
	}
	return out, nil
}

// removeFiles deletes files the store named in dir, as removeSpilled
// does.
func (s *Store) removeFiles(dir string, names ...string) {
	paths := make([]string, 0, len(names))
	for _, name := range names {
		if name != "" && name == filepath.Base(name) {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	if len(paths) > 0 {
		s.files.remove(paths...)
	}
}
