module github.com/ipcmesh/ipcmesh

go 1.26.0

require (
	go.etcd.io/bbolt v1.4.3
	golang.org/x/crypto v0.58.0
	golang.org/x/time v0.16.0
)

require (
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
