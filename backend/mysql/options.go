package mysql

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// TLSMode is the config's vocabulary for server connections (libpq's
// sslmode words, used for both engines).
type TLSMode string

const (
	TLSDisable    TLSMode = "disable"
	TLSPrefer     TLSMode = "prefer"
	TLSRequire    TLSMode = "require"
	TLSVerifyFull TLSMode = "verify-full"
)

func (m TLSMode) String() string { return string(m) }

// DefaultConnectTimeout bounds dialling and logging in.
const DefaultConnectTimeout = 5 * time.Second

// CharsetUTF8MB4 is utf8mb4_general_ci, the character set every server
// connection asks for (see the package doc).
const CharsetUTF8MB4 = 45

// DialOptions say how to log into one node.
type DialOptions struct {
	// Node names the server in errors and stats (default "Host:Port").
	Node     string
	Host     string
	Port     int // default 3306
	User     string
	Password string // resolved by the caller; never shown in errors
	Database string
	TLS      TLSMode // default TLSPrefer
	CAFile   string  // roots for TLSVerifyFull
	// ConnectTimeout bounds the TCP connect, TLS handshake and login
	// together (DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// FoundRows asks for CLIENT_FOUND_ROWS: UPDATE reports the rows it
	// matched rather than those it changed. A proxy's connection must
	// answer as its client asked.
	FoundRows bool
	// MultiStatements negotiates CLIENT_MULTI_STATEMENTS, which ExecGTID
	// needs (the commit's GTID is read in the same round trip).
	MultiStatements bool
}

// EnsureDefaults fills in zero fields.
func (o *DialOptions) EnsureDefaults() {
	if o.Port == 0 {
		o.Port = 3306
	}
	if o.Node == "" {
		o.Node = net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	}
	if o.TLS == "" {
		o.TLS = TLSPrefer
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
}

// Validate reports what is wrong with o after EnsureDefaults.
func (o *DialOptions) Validate() error {
	var errs []error
	if o.Host == "" {
		errs = append(errs, errors.New("host is missing"))
	}
	if o.Port < 1 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d is out of range", o.Port))
	}
	if o.User == "" {
		errs = append(errs, errors.New("user is missing"))
	}
	switch o.TLS {
	case TLSDisable, TLSPrefer, TLSRequire, TLSVerifyFull:
	default:
		errs = append(errs, fmt.Errorf("TLS mode %q is not one of disable, prefer, require, verify-full", o.TLS))
	}
	if o.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("connect timeout %s is negative", o.ConnectTimeout))
	}
	return errors.Join(errs...)
}

// PoolOptions shape a Pool.
type PoolOptions struct {
	Dial DialOptions
	// MaxConns caps the pool's connections, idle, in use and being
	// dialled (default 20).
	MaxConns int
	// IdleTimeout closes a connection idle this long (default 5m).
	IdleTimeout time.Duration
	// MaxLifetime closes a connection this old when it is next released
	// or idle (default 1h; negative: no limit).
	MaxLifetime time.Duration
	// AcquireTimeout bounds waiting for a connection when the pool is at
	// MaxConns (default 5s).
	AcquireTimeout time.Duration
	// PingAfter: Acquire pings a connection idle this long before handing
	// it out, so that one the server closed meanwhile is replaced instead
	// of failing the client's statement (default 1s; negative: never).
	PingAfter time.Duration
	// PreparedStatements bounds the statements each connection keeps
	// prepared on the server for its clients' executions
	// (DefaultPreparedStatements; negative: none, every execution runs as
	// text). They count against the server's max_prepared_stmt_count,
	// which every client of the server shares (16,382 by default).
	PreparedStatements int
	// PrepareBackoff: once the server refused one of the pool's prepares
	// for its max_prepared_stmt_count (1461), no statement is prepared on
	// it for this long, and each connection gives back the statements it
	// keeps (DefaultPrepareBackoff).
	PrepareBackoff time.Duration
}

// Defaults of the statements kept prepared on a server
// (docs/design/mysql-raw-results.md).
const (
	DefaultPreparedStatements = 32
	DefaultPrepareBackoff     = 30 * time.Second
)

// EnsureDefaults fills in zero fields.
func (o *PoolOptions) EnsureDefaults() {
	o.Dial.EnsureDefaults()
	if o.MaxConns == 0 {
		o.MaxConns = 20
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.MaxLifetime == 0 {
		o.MaxLifetime = time.Hour
	}
	if o.AcquireTimeout == 0 {
		o.AcquireTimeout = 5 * time.Second
	}
	if o.PingAfter == 0 {
		o.PingAfter = time.Second
	}
	if o.PreparedStatements == 0 {
		o.PreparedStatements = DefaultPreparedStatements
	}
	if o.PrepareBackoff == 0 {
		o.PrepareBackoff = DefaultPrepareBackoff
	}
}

// Validate reports what is wrong with o after EnsureDefaults.
func (o *PoolOptions) Validate() error {
	var errs []error
	if err := o.Dial.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("max conns must be at least 1, got %d", o.MaxConns))
	}
	if o.IdleTimeout < 0 || o.AcquireTimeout < 0 {
		errs = append(errs, errors.New("idle and acquire timeouts must not be negative"))
	}
	if o.PrepareBackoff < 0 {
		errs = append(errs, fmt.Errorf("prepare backoff %s is negative", o.PrepareBackoff))
	}
	return errors.Join(errs...)
}
