package pgwire

import (
	"net"
	"sync"
)

// ClientConn is one authenticated client, handed to Handler.ServeSession
// after ReadyForQuery was sent. The session owns it: it reads and writes
// Conn() (wrapping it in its own buffers; the server has left nothing
// buffered), and may change the exported fields. The server closes the
// connection after ServeSession returns.
type ClientConn struct {
	// User and Database are from the StartupMessage (Database defaults to
	// User), User authenticated with SCRAM-SHA-256.
	User     string
	Database string
	// Params are the other startup parameters as the client sent them,
	// "options" (unparsed) included: application_name, client_encoding,
	// DateStyle, … Never user, database, replication or "_pq_." options.
	Params map[string]string
	// ProcessID and SecretKey are the BackendKeyData sent to the client,
	// which a CancelRequest must name. The server keeps its own copy:
	// changing these changes nothing.
	ProcessID  uint32
	SecretKey  uint32
	RemoteAddr net.Addr

	conn     net.Conn
	tls      bool
	draining <-chan struct{}

	// pid and secret are what cancel requests are matched against.
	pid    uint32
	secret [4]byte

	mu       sync.Mutex
	canceler func()
}

// Conn is the client's connection: the *tls.Conn after a TLS upgrade.
func (c *ClientConn) Conn() net.Conn { return c.conn }

// TLS reports whether the connection is encrypted.
func (c *ClientConn) TLS() bool { return c.tls }

// Draining is closed when the server starts shutting down: the session
// should finish the client's current work (a transaction, say) and leave.
// When the Shutdown context ends, the session's context is cancelled and
// the connection closed.
func (c *ClientConn) Draining() <-chan struct{} { return c.draining }

// SetCanceler registers what a CancelRequest carrying this client's key
// does, replacing any earlier one. f runs on a goroutine of its own, owned
// and waited for by the server, once per matching request, possibly
// concurrently with the session and with itself. Keep it short and
// non-blocking: a context.CancelFunc of the running statement is the model
// (idempotent, harmless when the statement already ended).
func (c *ClientConn) SetCanceler(f func()) {
	c.mu.Lock()
	c.canceler = f
	c.mu.Unlock()
}

// ClearCanceler makes cancel requests do nothing again. A request being
// dispatched at that very moment may still call the previous canceler,
// after ClearCanceler returns; the canceler must tolerate that.
func (c *ClientConn) ClearCanceler() { c.SetCanceler(nil) }

func (c *ClientConn) currentCanceler() func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.canceler
}
