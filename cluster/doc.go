// Package cluster runs embedded NATS JetStream servers, the nodes of the
// cluster in which the brokers of a cluster-mode mesh keep their data.
//
// It serves three uses: "ipcmesh cluster" runs a whole cluster on one
// machine with Local, to try cluster mode or to develop against it; a real
// host runs one Node beside its broker, routed to the nodes of the other
// hosts; and tests and benchmarks use Local to get a real cluster whose
// nodes they can stop and restart, to see what the mesh does when a host
// dies.
//
// What it promises: nodes bind loopback (127.0.0.1) unless told otherwise,
// and have no authentication of their own, so only this machine reaches
// them by default; a node keeps its data under the folder it is given and
// nowhere else, in folders only its user can read, and holds the folder
// locked while it runs, so that a second node on it is refused (ErrInUse)
// rather than damage its store; and StartNode and StartLocal return only
// once what they started is ready (a node accepts connections; a Local
// has a JetStream meta leader that knows all its nodes), or fail with an
// error that says which node and why, within a bounded time. The servers
// never install signal handlers and never exit the process: the program
// that embeds them stays in charge.
package cluster
