// Package netwait reads a socket the way the proxy's sessions read their
// peers: a request, then nothing until the answer. Go's netpoller reads
// before it waits, so each such read begins with a system call that finds
// nothing (EAGAIN) and only then parks the goroutine. A Conn reads with
// recvmsg and TCP_INQ (SO_INQ on a Unix socket), so it knows when a read left the socket empty (not
// even a FIN pending); when something was written to the peer since, its
// next read first waits in the netpoller, which the kernel tells of every
// byte that arrives afterwards, and reads only once there is something to
// read. docs/design/netwait.md gives the argument that no wake-up is lost.
//
// Its reads and writes are raw system calls that cannot block (recvmsg and
// send with MSG_DONTWAIT), waiting in the netpoller when the socket is
// empty or full: the runtime's bookkeeping around a blocking call buys
// nothing for them. Writes go through the Conn only, in turn on its lock.
//
// With a Spin (spin.go, docs/design/spin.md), a wait first polls the
// socket for a while when one client is at work, and then waits as
// before; a deadline or Close that comes during the poll takes effect
// when it ends.
//
// It imports only the standard library and the runtime's netpoller entry
// (a linkname): nothing of shardgate. Where the wait cannot be had (TLS,
// other platforms, a kernel without TCP_INQ, or without SO_INQ for a Unix
// socket, a Go whose net internals moved), Wrap returns the connection
// unchanged and reads are Go's own.
package netwait
