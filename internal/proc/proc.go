// Package proc tells whether a process is running, from its pid, on every
// system ipcmesh runs on: a broker's record, and an assistant session's
// record of its MCP server, name a process that may have gone without
// removing them. A mark of when the process started (Started), kept with
// the pid, tells the process that wrote a record from a later one that got
// its pid (Running). Where the system shows it (linux), it also tells
// whether a process listens on a port: whether a pid a broker gives is the
// broker's.
package proc
