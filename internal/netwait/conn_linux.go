package netwait

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// runtime_pollWait is the runtime's wait on a poll descriptor, the one
// internal/poll calls after a read found nothing: it returns at once when
// the netpoller has seen the descriptor become readable since the last
// wait (or reset), else parks until it does, its deadline passes or it is
// closed.
//
//go:linkname runtime_pollWait internal/poll.runtime_pollWait
func runtime_pollWait(ctx uintptr, mode int) int

// The runtime's poll errors (internal/poll's pollNoError and the rest).
const (
	pollNoError        = 0
	pollErrClosing     = 1
	pollErrTimeout     = 2
	pollErrNotPollable = 3
)

// tcpInq is TCP_INQ, both the socket option and its control message type
// (TCP_CM_INQ), Linux 4.18 and later. soInq is its Unix-socket peer,
// SO_INQ (and SCM_INQ) at SOL_SOCKET, Linux 6.17 and later.
const (
	tcpInq = 36
	soInq  = 84
)

// siocInq is SIOCINQ (FIONREAD): the bytes waiting to be read, for TCP
// and Unix stream sockets alike, without the FIN.
const siocInq = 0x541b

// Conn is a *net.TCPConn or a stream *net.UnixConn whose reads wait
// before reading when nothing can be there: the last read left the socket
// empty and the peer has been sent something since, so what comes next
// comes later.
//
// Why that wait loses no wake-up:
//
//   - Empty means empty. Each read is a recvmsg(2) with TCP_INQ on, and
//     the kernel tells with it how much is left to read after it, counting
//     the peer's FIN as something (Linux's tcp_inq_hint: "after receiving
//     a FIN, tell the user-space to continue reading"). Only 0 counts.
//   - Whatever arrives afterwards raises a new edge: the netpoller is
//     edge-triggered and records each edge as readiness until a wait
//     consumes it. Conn never resets that readiness (Go's reads do, before
//     each read), so an edge that came during a read stays recorded and
//     the next wait returns at once; a stale one costs a read that finds
//     nothing and a wait, as Go's reads always pay.
//   - A reset (RST) is not counted by TCP_INQ. One that came before the
//     last read makes the write after it fail (the socket is shut for
//     sending), so the wait is never reached; one that comes after it
//     raises an edge. Hence the wait only after a write.
//
// Anything else that resets the readiness (net.Conn.Read or RawConn.Read
// on the same socket; peek with RawConn.Control instead) must be followed
// by Forget.
//
// Deadlines and Close end a wait as they end Go's reads
// (os.ErrDeadlineExceeded, net.ErrClosed), but a read that finds bytes
// returns them even past the read deadline, where Go's reads report the
// deadline first.
//
// A Conn's reads are for one goroutine at a time, and nothing else may
// read the socket while one runs: unlike Go's reads, which take turns on
// the descriptor's read lock, two waits on one descriptor crash the
// runtime ("double wait") and a reset under a parked read strands it, so
// a second concurrent Read panics instead. Writes may come from any
// goroutine; they take turns on the Conn's own lock (nothing may write the
// socket except through the Conn).
//
// Writes are send(2) calls of their own, as reads are recvmsg calls:
// MSG_DONTWAIT, so a raw system call (without the runtime's
// entersyscall/exitsyscall, which only pay for calls that block), and
// on a full socket a wait as Go's writes do. As with reads, a write that
// the socket takes succeeds even past the write deadline.
type Conn struct {
	net.Conn
	raw syscall.RawConn
	ctx uintptr // the runtime's poll descriptor

	inqLevel int32 // where the kernel's count of bytes left comes from:
	inqType  int32 // SOL_TCP and TCP_INQ, or SOL_SOCKET and SO_INQ

	sp spinState // polling before a wait (Spin)

	reading atomic.Bool   // a Read runs
	writes  atomic.Uint64 // writes that sent something
	empty   bool          // the last read left nothing, not even a FIN
	seen    uint64        // writes when the last read ended
	wait    bool          // this read waits first

	readFn func(uintptr)
	waitFn func(uintptr)
	msg    syscall.Msghdr
	iov    syscall.Iovec
	oob    [32]byte
	p      []byte
	n      int
	inq    int
	err    error

	wmu     sync.Mutex // one Write at a time; guards the fields below
	writeFn func(uintptr)
	wp      []byte
	wn      int
	werr    error
}

// Wrap returns a Conn of c, or c itself when c is not a socket this
// package can wait on (TLS, a kernel without TCP_INQ, a Unix socket on a
// kernel without SO_INQ, datagram sockets).
func Wrap(c net.Conn) net.Conn {
	if w := newConn(c); w != nil {
		return w
	}
	return c
}

func newConn(c net.Conn) *Conn {
	var level, opt int
	switch c := c.(type) {
	case *net.TCPConn:
		level, opt = syscall.IPPROTO_TCP, tcpInq
	case *net.UnixConn:
		if c.LocalAddr().Network() != "unix" { // unixgram, unixpacket
			return nil
		}
		level, opt = syscall.SOL_SOCKET, soInq
	default:
		return nil
	}
	ctx, ok := pollContext(c)
	if !ok {
		return nil
	}
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), level, opt, 1)
	}); err != nil || serr != nil {
		return nil
	}
	// The control message comes at the option's level (SOL_TCP is
	// IPPROTO_TCP), with the option's number as its type.
	w := &Conn{Conn: c, raw: raw, ctx: ctx, inqLevel: int32(level), inqType: int32(opt)}
	w.readFn = w.read
	w.waitFn = w.waitRead
	w.writeFn = w.write
	w.msg.Iov = &w.iov
	w.msg.Iovlen = 1
	return w
}

// pollContext digs the runtime's poll descriptor out of a *net.TCPConn or
// *net.UnixConn:
// conn.fd.pfd.pd.runtimeCtx, every one of them unexported. Reading
// unexported fields through reflect is allowed; any change of shape in a
// later Go makes it report false.
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

// Write writes p to the connection, all of it unless an error comes
// first; after it, a read may wait first.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	c.wp, c.wn, c.werr = p, 0, nil
	err := c.control(c.writeFn, &c.werr)
	n := c.wn
	c.wp, c.werr = nil, nil
	c.wmu.Unlock()
	if n > 0 {
		c.writes.Add(1)
	}
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

// maxWrite caps one send, as internal/poll caps its writes.
const maxWrite = 1 << 30

// write is the Control callback of Write.
func (c *Conn) write(fd uintptr) {
	for c.wn < len(c.wp) {
		chunk := c.wp[c.wn:]
		if len(chunk) > maxWrite {
			chunk = chunk[:maxWrite]
		}
		raceWrite(fd, chunk)
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&chunk[0])), uintptr(len(chunk)),
			syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
		switch {
		case errno == syscall.EINTR:
		case errno == syscall.EAGAIN:
			// Full: wait until it drains, as Go's writes do. The write
			// readiness is never reset here; a stale one costs a send
			// that finds the socket still full, and a wait.
			if c.werr = pollError(runtime_pollWait(c.ctx, 'w')); c.werr != nil {
				return
			}
		case errno != 0:
			c.werr = os.NewSyscallError("write", errno)
			return
		default:
			c.wn += int(n)
		}
	}
}

// Read reads from the connection: after a wait when nothing can be there
// yet, and again after a wait whenever it finds nothing.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !c.reading.CompareAndSwap(false, true) {
		panic("netwait: concurrent Read on one Conn")
	}
	defer c.reading.Store(false)
	c.p, c.n, c.inq, c.err = p, 0, -1, nil
	c.wait = c.empty && c.writes.Load() != c.seen
	// Control holds a reference on the descriptor: a concurrent Close
	// wakes a wait but neither frees the poll descriptor nor closes the
	// descriptor under the read.
	err := c.control(c.readFn, &c.err)
	n := c.n
	c.p, c.err, c.iov.Base = nil, nil, nil
	c.empty = err == nil && c.inq == 0
	c.seen = c.writes.Load()
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

// WaitRead waits as the next Read would before reading: until something
// can be there, when the last read left the socket empty and something
// was written to the peer since; otherwise it returns at once. The Read
// after it reads first. A reader that holds no buffer while its peer is
// silent (pgio.Reader after Release) takes one only once this returns.
// Deadlines and Close end the wait as they end a Read.
func (c *Conn) WaitRead() error {
	if !c.empty || c.writes.Load() == c.seen {
		return nil
	}
	if !c.reading.CompareAndSwap(false, true) {
		panic("netwait: concurrent Read on one Conn")
	}
	defer c.reading.Store(false)
	c.err = nil
	err := c.control(c.waitFn, &c.err)
	c.err = nil
	if err != nil {
		return c.opError("read", err)
	}
	c.empty = false // something came (or a stale edge: the read finds out)
	return nil
}

// waitRead is the Control callback of WaitRead.
func (c *Conn) waitRead(fd uintptr) {
	if c.sp.shouldPoll() && c.poll(fd) {
		return
	}
	c.err = pollError(c.pollWait())
}

// control runs fn on the descriptor and returns the error fn left in
// *fnErr, or net.ErrClosed when the descriptor is closed (the only way
// Control fails).
func (c *Conn) control(fn func(uintptr), fnErr *error) error {
	if err := c.raw.Control(fn); err != nil {
		return net.ErrClosed
	}
	return *fnErr
}

// opError wraps err as Go's net.Conn methods do.
func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.Conn.LocalAddr().Network(), Source: c.Conn.LocalAddr(), Addr: c.Conn.RemoteAddr(), Err: err}
}

// read is the Control callback of Read.
func (c *Conn) read(fd uintptr) {
	if c.wait && c.sp.shouldPoll() && c.poll(fd) {
		c.wait = false
	}
	if c.wait {
		if c.err = pollError(c.pollWait()); c.err != nil {
			return
		}
	}
	c.iov.Base = &c.p[0]
	c.iov.SetLen(len(c.p))
	for {
		c.msg.Control = &c.oob[0]
		c.msg.SetControllen(len(c.oob))
		// A raw system call: MSG_DONTWAIT, so it cannot block, and the
		// runtime's entersyscall/exitsyscall around it (which let another
		// thread take the P of a call that blocks) would only cost time,
		// about a tenth of a microsecond per read on the hot path.
		n, _, errno := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), syscall.MSG_DONTWAIT)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			if c.err = pollError(runtime_pollWait(c.ctx, 'r')); c.err == nil {
				continue
			}
		case errno != 0:
			c.err = os.NewSyscallError("recvmsg", errno)
		case n == 0:
			c.err = io.EOF
		default:
			c.n = int(n)
			c.inq = c.inqOf()
			raceRead(fd, c.p, c.n)
			c.sp.noteRead()
		}
		return
	}
}

// inqOf reads TCP_INQ's control message: the bytes left to read (1 for
// a FIN alone), or -1 when there is none.
func (c *Conn) inqOf() int {
	if c.msg.Controllen < syscall.SizeofCmsghdr+4 {
		return -1
	}
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&c.oob[0]))
	if h.Level != c.inqLevel || h.Type != c.inqType || h.Len < syscall.SizeofCmsghdr+4 {
		return -1
	}
	return int(*(*int32)(unsafe.Pointer(&c.oob[syscall.SizeofCmsghdr])))
}

// poll watches the socket until bytes are there or the Spin's limit
// passes; true when the wait after it may be skipped. It asks with
// SIOCINQ, a count that takes and clears nothing: a reset or the end of
// the stream is left for the wait and the read after it.
//
// A goroutine that polls keeps others from running: with one P, nothing
// asks the netpoller while it runs, and a goroutine that never waits
// would keep other clients' requests and other connections' answers
// waiting for Go's sysmon, 10–20 ms. So every so often (when no Conn of
// the Spin went through the scheduler for two limits) a poll that found
// its bytes is still followed by its wait: that wait returns at once,
// the arrival being pending in the netpoller, but only after a round
// through the scheduler, which asks the netpoller for everything that
// arrived meanwhile. Otherwise the read follows at once; the readiness
// the bytes raised stays recorded, and costs a later wait a read that
// finds nothing.
func (c *Conn) poll(fd uintptr) (skipWait bool) {
	var inq int32
	s := c.sp.spin
	start := time.Now()
	for {
		_, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, fd, siocInq, uintptr(unsafe.Pointer(&inq)))
		switch {
		case errno == syscall.EINTR:
		case errno != 0:
			c.sp.polled(false) // cannot tell: the wait will
			c.sp.round = true
			return false
		case inq > 0:
			c.sp.polled(true)
			c.sp.round = s.roundDue()
			return !c.sp.round
		}
		if time.Since(start) >= s.limit {
			c.sp.polled(false)
			c.sp.round = true
			return false
		}
	}
}

// pollError is the error a net.Conn read reports for a poll error.
func pollError(code int) error {
	switch code {
	case pollNoError:
		return nil
	case pollErrClosing:
		return net.ErrClosed
	case pollErrTimeout:
		return os.ErrDeadlineExceeded
	case pollErrNotPollable:
		return errors.New("not pollable")
	}
	return fmt.Errorf("netwait: unknown poll error %d", code)
}

// Forget makes the next read read first, as Go's do. Call it after
// anything that reset the socket's readiness outside this Conn (a
// RawConn.Read).
func (c *Conn) Forget() { c.empty = false }
