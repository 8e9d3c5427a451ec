// Package ipcmesh holds the domain types shared by every part of the mesh:
// names and their rules, messages, instances, channels, shared data, the
// records of access keys, and the structured errors that travel on the wire
// with a stable code.
//
// It imports nothing of the project, so the store, the auth layer, the wire
// protocol and the faces above them all speak the same language.
package ipcmesh
