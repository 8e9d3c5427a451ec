//go:build !linux

package testbin

// workingIn finds no process here: only linux tells a process's working
// folder without a tool of its own. StopDetachedBrokers finds a detached
// broker by its broker.json alone.
func workingIn(dir string) []int { return nil }
