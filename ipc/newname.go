package ipc

import (
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh"
)

// newName checks name as a name that register, rename or key_create may
// give an instance: one the mesh knows already (an instance, or a name
// renamed away whose mail is still forwarded) needs only to be valid
// (ipcmesh.ValidateName), so that names made before the rule of
// ipcmesh.ValidateNewName keep working; any other must follow that rule.
// The store is asked only about a name that breaks it, which is rare.
func (b *Broker) newName(name string) error {
	err := ipcmesh.ValidateNewName(name)
	if err == nil || ipcmesh.ValidateName(name) != nil {
		return err
	}
	if known, kerr := b.knownName(name); kerr != nil || known {
		return kerr
	}
	return err
}

// recipient checks the name a send goes to as newName does: a name the
// mesh does not know and never can (it begins with '-') is refused rather
// than queued for an instance that could never register it, with the
// names likely meant.
func (b *Broker) recipient(name string) error {
	err := b.newName(name)
	if err == nil || ipcmesh.ValidateName(name) != nil {
		return err
	}
	e := ipcmesh.Errorf(ipcmesh.CodeInvalidName,
		"no instance is named %q, and none can be: a new name may not begin with '-', which command lines take for a flag; nothing was sent", name)
	if names, nerr := b.store.Names(); nerr == nil {
		meant := strings.TrimLeft(name, "-")
		near := ipcmesh.NearNames(meant, names, 3)
		if slices.Contains(names, meant) {
			// NearNames leaves out the name itself: here it is the
			// likeliest of all.
			near = append([]string{meant}, near[:min(len(near), 2)]...)
		}
		if len(near) > 0 {
			e.Message += ": did you mean " + strings.Join(near, " or ") + "?"
			e.Suggestions = near
		}
	}
	return e
}

// knownName reports whether the mesh knows name: an instance has it, or
// it was renamed away and mail to it is still forwarded.
func (b *Broker) knownName(name string) (bool, error) {
	names, err := b.store.Names()
	if err != nil {
		return false, err
	}
	if slices.Contains(names, name) {
		return true, nil
	}
	to, err := b.store.Resolve(name)
	if ipcmesh.CodeOf(err) == ipcmesh.CodeRenameLoop {
		return true, nil // forwarded, round in a circle: the send says so
	}
	return to != name, err
}
