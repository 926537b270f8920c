package mysql

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"
	vtrpcpb "vitess.io/vitess/go/vt/proto/vtrpc"
	"vitess.io/vitess/go/vt/vterrors"
	"vitess.io/vitess/go/vt/vttls"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Status flags of the server's OK and EOF packets that the proxy follows.
const (
	StatusInTrans     uint16 = 0x0001 // SERVER_STATUS_IN_TRANS
	StatusAutocommit  uint16 = 0x0002 // SERVER_STATUS_AUTOCOMMIT
	StatusMoreResults uint16 = 0x0008 // SERVER_MORE_RESULTS_EXISTS
	StatusInTransRO   uint16 = 0x2000 // SERVER_STATUS_IN_TRANS_READONLY
)

// Conn is one logged-in connection to a MariaDB server.
//
// A Conn belongs to one goroutine at a time: the pool while it is idle,
// then the session that acquired it, until it is released. Only
// MarkBroken, IsBroken, Node and ID may be called from other goroutines.
type Conn struct {
	c    *vmysql.Conn
	node string
	id   uint32

	flags uint16 // of the last OK/EOF the server sent

	// settings are the session SETs applied since login or the last
	// Reset, in order; dirty says the connection holds state that is not
	// in settings (it must be Reset before another session uses it).
	settings []string
	dirty    bool

	created  time.Time
	expires  time.Time // zero: no lifetime limit
	lastUsed time.Time

	broken atomic.Bool

	// Forward's read buffer (forward.go): reused, so that forwarding a
	// packet allocates nothing.
	rbuf       []byte
	hdr        [4]byte
	firstFrame int // the size of the last packet's first frame

	// Prepared statements (prepared.go): the cache, the write buffer, and
	// the reader of the commands vitess's client does not have (own: in
	// use, seq: the next packet number).
	stmts  stmtCache
	wbuf   []byte
	br     *bufio.Reader
	brConn net.Conn
	own    bool
	seq    byte
	// gate is the node's say on preparing (the pool's; prepared_limit.go),
	// gateGen the generation of it this connection last followed.
	gate    *stmtGate
	gateGen uint64

	// Owned by the pool, under its lock.
	pool *Pool
	idle bool
}

// Dial logs into one node. With TLSPrefer it tries TLS first and logs in
// again without it when the TLS attempt fails before the server answered
// (vitess's client does not fall back by itself: it starts TLS even with a
// server that does not offer it).
func Dial(ctx context.Context, o DialOptions) (*Conn, error) {
	c, _, err := dial(ctx, o)
	return c, err
}

// dial is Dial that also says which TLS mode worked.
func dial(ctx context.Context, o DialOptions) (*Conn, TLSMode, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, "", fmt.Errorf("mysql backend %s: %w", o.Node, err)
	}
	if o.TLS != TLSPrefer {
		c, err := dialMode(ctx, o)
		return c, o.TLS, err
	}
	o.TLS = TLSRequire
	c, err := dialMode(ctx, o)
	if err == nil {
		return c, TLSRequire, nil
	}
	if _, _, _, refused := ServerError(err); refused || ctx.Err() != nil {
		return nil, "", err
	}
	o.TLS = TLSDisable
	c, err = dialMode(ctx, o)
	return c, TLSDisable, err
}

func dialMode(ctx context.Context, o DialOptions) (*Conn, error) {
	p := &vmysql.ConnParams{
		Host:             o.Host,
		Port:             o.Port,
		Uname:            o.User,
		Pass:             o.Password,
		DbName:           o.Database,
		Charset:          CharsetUTF8MB4,
		SslMode:          sslMode(o.TLS),
		SslCa:            o.CAFile,
		ConnectTimeoutMs: uint64(o.ConnectTimeout / time.Millisecond),
	}
	if o.TLS == TLSVerifyFull {
		p.ServerName = o.Host
	}
	if o.FoundRows {
		p.Flags |= uint64(vmysql.CapabilityClientFoundRows)
	}
	p.EnableMultiStatements = o.MultiStatements
	vc, err := vmysql.Connect(ctx, p)
	if err != nil {
		return nil, dialError(o.Node, err)
	}
	now := time.Now()
	return &Conn{c: vc, node: o.Node, id: vc.ConnectionID, created: now, lastUsed: now, flags: StatusAutocommit,
		gate: newStmtGate(DefaultPreparedStatements, DefaultPrepareBackoff)}, nil
}

func sslMode(m TLSMode) vttls.SslMode {
	switch m {
	case TLSDisable:
		return vttls.Disabled
	case TLSRequire:
		return vttls.Required
	case TLSVerifyFull:
		return vttls.VerifyIdentity
	}
	return vttls.Preferred
}

// Node is the name of the server.
func (c *Conn) Node() string { return c.node }

// ID is the server's connection id (what KILL takes).
func (c *Conn) ID() uint32 { return c.id }

// StatusFlags are the status flags of the server's last OK or EOF packet
// (autocommit, in transaction, read-only transaction).
func (c *Conn) StatusFlags() uint16 { return c.flags }

// InTransaction reports whether the server said a transaction is open.
func (c *Conn) InTransaction() bool { return c.flags&StatusInTrans != 0 }

// Exec runs one statement as text and reads its whole result: rows up to
// maxRows (an error beyond, after draining), the final status flags and
// the warning count. A server error is a *sqlerr.Error with the server's
// number and SQLSTATE; any other error leaves the connection broken.
func (c *Conn) Exec(sql string, maxRows int) (*sqltypes.Result, uint16, error) {
	if c.broken.Load() {
		return nil, 0, lostError(c.node, errors.New("connection marked broken"))
	}
	res, warnings, err := c.c.ExecuteFetchWithWarningCount(sql, maxRows, true)
	if err != nil {
		if vterrors.Code(err) == vtrpcpb.Code_ABORTED {
			// Over maxRows: vitess drained the rest, the connection is
			// fine (the status flags are those before).
			return nil, 0, &sqlerr.Error{Code: "42000", Number: erTooBigSelect,
				Message: fmt.Sprintf("the result has more than %d rows, the most shardgate reads from a server at once", maxRows)}
		}
		return nil, 0, c.execError(err)
	}
	c.flags = res.StatusFlags &^ StatusMoreResults
	return res, warnings, nil
}

// gtidSQL follows a statement that may commit, in the same text: the
// session's last committed GTID (MariaDB's session tracking of last_gtid
// is negotiated by vitess's client but not exposed).
const gtidSQL = "\n;SELECT @@last_gtid"

// ExecGTID is Exec for a statement that may commit a write (autocommit,
// or COMMIT): in the same round trip it reads @@last_gtid, the GTID of the
// connection's last commit ("" when it never committed, or when the
// statement failed), which the caller never shows its client. The
// connection must have been dialed with MultiStatements.
func (c *Conn) ExecGTID(sql string, maxRows int) (*sqltypes.Result, uint16, string, error) {
	if c.broken.Load() {
		return nil, 0, "", lostError(c.node, errors.New("connection marked broken"))
	}
	// A trailing ";" would make an empty statement, a trailing "-- …"
	// comment would swallow the SELECT: the newline ends it.
	text := strings.TrimRight(sql, " \t\r\n;") + gtidSQL
	if err := c.c.WriteComQuery(text); err != nil {
		return nil, 0, "", c.execError(err)
	}
	res, more, warnings, err := c.c.ReadQueryResult(maxRows, true)
	if err != nil {
		// MariaDB stops a multi-statement text at its first error: nothing
		// follows. Over maxRows, vitess drained that result; the SELECT's
		// follows.
		if vterrors.Code(err) == vtrpcpb.Code_ABORTED {
			if drainErr := c.drain(true); drainErr != nil {
				return nil, 0, "", c.execError(drainErr)
			}
			return nil, 0, "", &sqlerr.Error{Code: "42000", Number: erTooBigSelect,
				Message: fmt.Sprintf("the result has more than %d rows, the most shardgate reads from a server at once", maxRows)}
		}
		return nil, 0, "", c.execError(err)
	}
	c.flags = res.StatusFlags &^ StatusMoreResults
	if !more {
		// The server did not run the SELECT (multi-statements off).
		return res, warnings, "", nil
	}
	g, more, _, err := c.c.ReadQueryResult(1, false)
	if err != nil {
		if _, _, _, isServer := ServerError(err); !isServer {
			return nil, 0, "", c.execError(err)
		}
		// The statement ran; only the GTID is missing.
		return res, warnings, "", c.drain(more)
	}
	if err := c.drain(more); err != nil {
		return nil, 0, "", c.execError(err)
	}
	c.flags = g.StatusFlags &^ StatusMoreResults
	gtid := ""
	if len(g.Rows) == 1 && len(g.Rows[0]) == 1 {
		gtid = g.Rows[0][0].ToString()
	}
	return res, warnings, gtid, nil
}

// drain reads the results left of a multi-statement text.
func (c *Conn) drain(more bool) error {
	for more {
		var err error
		if _, more, _, err = c.c.ReadQueryResult(vmysql.FETCH_NO_ROWS, false); err != nil {
			if _, _, _, isServer := ServerError(err); !isServer {
				return err
			}
		}
	}
	return nil
}

// Ping checks the connection with COM_PING.
func (c *Conn) Ping() error {
	if err := c.c.Ping(); err != nil {
		return c.execError(err)
	}
	return nil
}

// Reset sends COM_RESET_CONNECTION: the server rolls back an open
// transaction and drops session variables, user variables, temporary
// tables, prepared statements and locks, keeping the login and the
// current database. vitess's client has no call for it, so the packet is
// written and its answer read on the socket under the client, which is
// safe between commands: nothing is buffered then (checked).
func (c *Conn) Reset(timeout time.Duration) error {
	if c.broken.Load() {
		return lostError(c.node, errors.New("connection marked broken"))
	}
	if c.c.Buffered() > 0 {
		c.MarkBroken()
		return lostError(c.node, errors.New("unread data before COM_RESET_CONNECTION"))
	}
	nc := c.c.GetRawConn()
	if timeout > 0 {
		_ = nc.SetDeadline(time.Now().Add(timeout))
		defer nc.SetDeadline(time.Time{}) //nolint:errcheck // a failure shows on the next read
	}
	// The server drops its prepared statements whatever the answer: none
	// is owed a close, none may be executed again.
	c.stmts.clear()
	if _, err := nc.Write([]byte{1, 0, 0, 0, comResetConnection}); err != nil {
		c.MarkBroken()
		return lostError(c.node, err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		c.MarkBroken()
		return lostError(c.node, err)
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	body := make([]byte, n)
	if _, err := io.ReadFull(nc, body); err != nil || n == 0 {
		c.MarkBroken()
		return lostError(c.node, fmt.Errorf("reading the answer to COM_RESET_CONNECTION: %v", err))
	}
	switch body[0] {
	case 0x00: // OK
		ok, good := parseOK(body)
		if !good {
			c.MarkBroken()
			return lostError(c.node, errors.New("malformed OK packet after COM_RESET_CONNECTION"))
		}
		c.flags = ok.flags
	case 0xff:
		err := vmysql.ParseErrorPacket(body)
		c.MarkBroken() // the session state is unknown
		return c.execError(err)
	default:
		c.MarkBroken()
		return lostError(c.node, fmt.Errorf("unexpected packet %#x after COM_RESET_CONNECTION", body[0]))
	}
	c.settings = c.settings[:0]
	c.dirty = false
	c.stmts.clear() // the server dropped them
	c.settingsChanged()
	return nil
}

const comResetConnection = 0x1f

// Settings are the session SETs applied on the connection since login or
// the last Reset, in order. The slice is the connection's: do not change
// it.
func (c *Conn) Settings() []string { return c.settings }

// Dirty reports whether the connection holds session state that is not
// in Settings (it must be Reset before another session uses it).
func (c *Conn) Dirty() bool { return c.dirty }

// MarkDirty says the connection now holds session state that Settings do
// not describe (user variables, temporary tables, a SET inside a
// multi-statement text, …).
func (c *Conn) MarkDirty() {
	c.dirty = true
	c.settingsChanged()
}

// AddSetting records a session SET that succeeded on the connection.
func (c *Conn) AddSetting(sql string) {
	c.settings = append(c.settings, sql)
	c.settingsChanged()
}

// SetSettings replaces the recorded settings with a copy of s: after a
// session's SET succeeded on a connection that had the session's earlier
// settings, the connection has the session's new list (which may have
// dropped an earlier SET of the same variable).
func (c *Conn) SetSettings(s []string) {
	if !slices.Equal(c.settings, s) {
		c.settingsChanged()
	}
	c.settings = append(c.settings[:0], s...)
}

// HasSettings reports whether the connection's session state is exactly
// want: nothing else was applied and nothing is missing.
func (c *Conn) HasSettings(want []string) bool {
	return !c.dirty && slices.Equal(c.settings, want)
}

// MarkBroken says the connection must never be reused; it is closed when
// released.
func (c *Conn) MarkBroken() { c.broken.Store(true) }

// IsBroken reports whether the connection was marked broken.
func (c *Conn) IsBroken() bool { return c.broken.Load() }

// Pool is the pool the connection belongs to (nil for a Dial'd one).
func (c *Conn) Pool() *Pool { return c.pool }

// CreatedAt is when the connection was logged in.
func (c *Conn) CreatedAt() time.Time { return c.created }

// Close sends COM_QUIT and closes the socket. It is idempotent.
func (c *Conn) Close() {
	c.broken.Store(true)
	c.c.Close()
}

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
