//go:build race

package remote_test

// raceEnabled builds the child ipcmesh with the race detector too, so
// races in the server show up in these tests.
const raceEnabled = true
