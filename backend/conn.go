package backend

import (
	"crypto/tls"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/internal/netwait"
	"github.com/shardgate/shardgate/internal/pgio"
)

// Conn is one logged-in connection to a Postgres server, driven through
// its Reader and Writer.
//
// A Conn belongs to one goroutine at a time: the pool while it is idle,
// then the session that acquired it, until it is released. Only Cancel,
// MarkBroken, IsBroken and the read-only accessors (Node, PID, SecretKey,
// CreatedAt) may be called from other goroutines.
type Conn struct {
	nc   net.Conn
	raw  syscall.RawConn // the socket under nc, for liveness checks; nil if unavailable
	r    *pgio.Reader
	w    *pgio.Writer
	node string
	// network and addr are where Cancel dials: tcp and host:port, or
	// unix and the socket file.
	network, addr string
	tls           *tls.Config // nil if the connection is not TLS
	pid           uint32
	secret        []byte
	params        map[string]string
	// cancelTimeout bounds a CancelRequest (the dial's ConnectTimeout).
	cancelTimeout time.Duration

	created  time.Time
	expires  time.Time // zero: no lifetime limit; set by the pool
	lastUsed time.Time
	tx       pgio.TxStatus

	broken atomic.Bool
	closed atomic.Bool

	// attachment is the front end's per-connection state (its prepared
	// statements, the session settings applied here). It outlives the
	// sessions that use the connection and dies with it.
	attachment any

	// Owned by the pool, under its lock.
	pool *Pool
	idle bool

	peek   [1]byte
	peekOK bool
	peekFn func(fd uintptr)
	// nw is the socket's netwait wrapper (nil: reads are Go's own).
	nw *netwait.Conn
}

func newConn(hj *pgconn.HijackedConn, o *DialOptions) *Conn {
	_ = hj.Conn.SetDeadline(time.Time{})
	now := time.Now()
	c := &Conn{
		nc:            hj.Conn,
		node:          o.Node,
		tls:           hj.TLSConfig,
		pid:           hj.PID,
		secret:        hj.SecretKey,
		params:        hj.ParameterStatuses,
		cancelTimeout: o.ConnectTimeout,
		created:       now,
		lastUsed:      now,
		tx:            pgio.TxStatus(hj.TxStatus),
	}
	c.network, c.addr = o.network()
	if !c.tx.Valid() {
		c.tx = pgio.TxIdle
	}
	if c.params == nil {
		c.params = map[string]string{}
	}
	// Reads and writes through netwait: a statement's answer is read
	// after the statement was written, and a read that cannot find it yet
	// waits in the netpoller without a system call first.
	wc := &watchedConn{Conn: netwait.Wrap(hj.Conn), c: c}
	c.nw, _ = wc.Conn.(*netwait.Conn)
	c.nw.SetSpin(o.Spin, false)
	c.r = pgio.NewReader(wc, pgio.ReaderOptions{MaxMessageSize: o.MaxMessageSize, Pool: o.BufferPool})
	c.w = pgio.NewWriter(wc, pgio.WriterOptions{Pool: o.BufferPool})
	c.raw = rawConnOf(hj.Conn)
	c.peekFn = c.peekOnce
	return c
}

// watchedConn marks its Conn broken on any read or write error: after a
// failed or partial transfer the protocol state is unknown.
type watchedConn struct {
	net.Conn
	c *Conn
}

func (w *watchedConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if err != nil {
		w.c.broken.Store(true)
	}
	return n, err
}

func (w *watchedConn) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	if err != nil {
		w.c.broken.Store(true)
	}
	return n, err
}

// Reader reads the server's messages. I/O errors mark the Conn broken.
func (c *Conn) Reader() *pgio.Reader { return c.r }

// Writer writes messages to the server. I/O errors mark the Conn broken.
func (c *Conn) Writer() *pgio.Writer { return c.w }

// Node is the name of the server.
func (c *Conn) Node() string { return c.node }

// PID is the server's process id for this connection.
func (c *Conn) PID() uint32 { return c.pid }

// SecretKey is the server's cancel key for this connection. It is never
// to be shown to clients: they get the proxy's own keys.
func (c *Conn) SecretKey() []byte { return c.secret }

// ParameterStatus is the value the server last reported for name ("" if
// none): at login, or later through SetParameterStatus.
func (c *Conn) ParameterStatus(name string) string { return c.params[name] }

// SetParameterStatus records a ParameterStatus the server sent after
// login (e.g. after SET TimeZone).
func (c *Conn) SetParameterStatus(name, value string) {
	if c.params[name] != value {
		c.params[name] = value
	}
}

// TxStatus is the transaction status of the last ReadyForQuery the
// session relayed: TxIdle right after login.
func (c *Conn) TxStatus() pgio.TxStatus { return c.tx }

// Pool is the pool the connection belongs to (nil for a Dial'd one); its
// Release takes the connection back.
func (c *Conn) Pool() *Pool { return c.pool }

// Attachment returns the front end's per-connection state.
func (c *Conn) Attachment() any { return c.attachment }

// SetAttachment sets the front end's per-connection state.
func (c *Conn) SetAttachment(a any) { c.attachment = a }

// ParameterStatuses returns a copy of the server's ParameterStatus values.
func (c *Conn) ParameterStatuses() map[string]string {
	out := make(map[string]string, len(c.params))
	for k, v := range c.params {
		out[k] = v
	}
	return out
}

// SetTxStatus records the status of a ReadyForQuery. The pool reuses a
// released connection only when it is TxIdle.
func (c *Conn) SetTxStatus(s pgio.TxStatus) { c.tx = s }

// SetDeadline bounds the connection's reads and writes (zero: none), for
// work the front end does on it outside a client's statement (a reset).
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// MarkBroken says the connection must never be reused: after an I/O error
// (the Reader and Writer mark those themselves) or any confusion about
// where in the protocol it stands. It is closed when released.
func (c *Conn) MarkBroken() { c.broken.Store(true) }

// IsBroken reports whether the connection was marked broken.
func (c *Conn) IsBroken() bool { return c.broken.Load() }

// CreatedAt is when the connection was logged in.
func (c *Conn) CreatedAt() time.Time { return c.created }

// LastUsed is when the connection was last released to its pool (or
// logged in, if never).
func (c *Conn) LastUsed() time.Time { return c.lastUsed }

// Close sends Terminate when the connection is in a known state, then
// closes the socket. It is idempotent. The Conn must not be in use by
// another goroutine.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	if !c.broken.Load() {
		_ = c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		c.w.Reset(c.nc) // drop anything half written
		_ = c.w.WriteTerminate()
		_ = c.w.Flush()
	}
	c.broken.Store(true)
	err := c.nc.Close()
	c.r.Reset(nil)
	c.r.Release()
	c.w.Reset(nil)
	c.w.Release()
	return err
}

// isClosed reports whether Close was called.
func (c *Conn) isClosed() bool { return c.closed.Load() }

// setLifetime sets when the connection expires: d less up to 10% jitter.
func (c *Conn) setLifetime(d time.Duration) {
	if d <= 0 {
		return
	}
	jitter := time.Duration(rand.Int64N(int64(d)/10 + 1))
	c.expires = c.created.Add(d - jitter)
}

func (c *Conn) expired(now time.Time) bool {
	return !c.expires.IsZero() && !now.Before(c.expires)
}

// alive reports whether the server has neither closed the connection nor
// sent anything while it sat idle (a server that sends something unasked,
// such as a FATAL error before it shuts down, is not to be trusted with
// the next statement). It costs one non-blocking system call.
func (c *Conn) alive() bool {
	if c.broken.Load() || c.closed.Load() {
		return false
	}
	if c.r.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	c.peekOK = false
	// Control, not Read: a RawConn.Read resets the socket's readiness,
	// which the reads through netwait count on.
	if err := c.raw.Control(c.peekFn); err != nil {
		return false
	}
	return c.peekOK
}

func rawConnOf(nc net.Conn) syscall.RawConn {
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
