// Package netwait reads a socket the way the proxy's sessions read their
// peers: a request, then nothing until the answer. Go's netpoller reads
// before it waits, so each such read begins with a system call that finds
// nothing (EAGAIN) and only then parks the goroutine. A Reader remembers
// that its last read emptied the socket; the next one first waits in the
// netpoller, which the kernel has told of every byte that arrived since,
// and reads only once there is something to read.
//
// It imports only the standard library and the runtime's netpoller entry
// (a linkname): nothing of shardgate. Where the wait cannot be had (TLS
// connections, other platforms, a Go whose net internals moved), Wrap
// returns the connection unchanged and reads are Go's own.
package netwait
