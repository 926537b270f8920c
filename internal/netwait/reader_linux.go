package netwait

import (
	"io"
	"net"
	"reflect"
	"syscall"
	_ "unsafe" // linkname
)

// runtime_pollWait is the runtime's wait on a poll descriptor, the one
// internal/poll calls after a read found nothing: it returns at once when
// the netpoller has seen the descriptor become readable since the last
// reset, else parks until it does, its deadline passes or it is closed.
// Unlike a read through net.Conn or RawConn.Read, it does not first reset
// the descriptor's readiness.
//
//go:linkname runtime_pollWait internal/poll.runtime_pollWait
func runtime_pollWait(ctx uintptr, mode int) int

// Reader reads a *net.TCPConn or *net.UnixConn, waiting in the netpoller
// before a read that follows one that emptied the socket.
//
// Why that wait loses no wake-up: the netpoller is edge-triggered, and
// every read through the connection first resets the descriptor's
// readiness. A read that returned less than it had room for left nothing
// in the socket, so any byte that arrives afterwards raises a new edge and
// sets the readiness again (or wakes the waiting goroutine); a byte that
// arrived during that read, already taken, may leave the readiness set,
// and then the wait returns at once and the read finds nothing and waits
// as Go's always does. Anything else that resets the readiness while bytes
// are waiting breaks this: a RawConn.Read on the same socket (use
// RawConn.Control to peek), so whoever does one must call Forget after.
//
// A Reader is for one reading goroutine, as a net.Conn's reads are.
type Reader struct {
	conn    net.Conn
	raw     syscall.RawConn
	ctx     uintptr // the runtime's poll descriptor of conn
	drained bool    // the last read emptied the socket
	wait    func(uintptr)
}

// Wrap returns a Reader of c, or c itself when c is not a socket this
// package can wait on.
func Wrap(c net.Conn) io.Reader {
	if r := newReader(c); r != nil {
		return r
	}
	return c
}

func newReader(c net.Conn) *Reader {
	var sc syscall.Conn
	switch t := c.(type) {
	case *net.TCPConn:
		sc = t
	case *net.UnixConn:
		sc = t
	default:
		return nil
	}
	ctx, ok := pollContext(c)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &Reader{conn: c, raw: raw, ctx: ctx}
	r.wait = func(uintptr) { runtime_pollWait(r.ctx, 'r') }
	return r
}

// pollContext digs the runtime's poll descriptor out of a *net.TCPConn or
// *net.UnixConn: conn.fd.pfd.pd.runtimeCtx, every one of them unexported.
// Reading unexported fields through reflect is allowed; any change of
// shape in a later Go makes it report false.
func pollContext(c net.Conn) (uintptr, bool) {
	v := reflect.ValueOf(c)
	for _, step := range []string{"conn", "fd", "pfd", "pd", "runtimeCtx"} {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return 0, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return 0, false
		}
		v = v.FieldByName(step)
		if !v.IsValid() {
			return 0, false
		}
	}
	if v.Kind() != reflect.Uintptr || v.Uint() == 0 {
		return 0, false
	}
	return uintptr(v.Uint()), true
}

// Read reads from the connection, after waiting for readability when the
// last read emptied the socket. The wait's outcome is not looked at: a
// passed deadline or a close makes the read report it, and a readiness
// that was stale makes the read find nothing and wait as usual.
func (r *Reader) Read(p []byte) (int, error) {
	if r.drained {
		r.drained = false
		// Control holds a reference on the descriptor: a concurrent Close
		// wakes the wait but cannot free the poll descriptor under it.
		_ = r.raw.Control(r.wait)
	}
	n, err := r.conn.Read(p)
	r.drained = err == nil && n > 0 && n < len(p)
	return n, err
}

// Forget makes the next read read first, as Go's do. Call it after
// anything that reset the socket's readiness outside this Reader (a
// RawConn.Read).
func (r *Reader) Forget() { r.drained = false }
