package backend

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/internal/netwait"
	"github.com/shardgate/shardgate/internal/pgio"
)

// TLSMode is libpq's sslmode vocabulary for server connections.
type TLSMode string

const (
	TLSDisable TLSMode = "disable"
	// TLSPrefer uses TLS when the server offers it, without verifying
	// the certificate (the default, as in libpq).
	TLSPrefer TLSMode = "prefer"
	// TLSRequire uses TLS without verifying the certificate.
	TLSRequire TLSMode = "require"
	// TLSVerifyFull verifies the chain (against CAFile, or the system
	// roots) and the host name.
	TLSVerifyFull TLSMode = "verify-full"
)

func (m TLSMode) String() string { return string(m) }

const (
	// DefaultMaxMessageSize bounds a message from a server: Postgres'
	// own limit on a value is 1 GiB, and servers are trusted.
	DefaultMaxMessageSize = 1 << 30
	// DefaultConnectTimeout bounds dialling and logging in.
	DefaultConnectTimeout = 5 * time.Second
)

// DialOptions say how to log into one node.
type DialOptions struct {
	// Node names the server in errors, stats and listener calls
	// (default "Host:Port").
	Node string
	// Host is a host name or address, or the absolute path of the folder
	// of a Postgres Unix socket (as libpq's host): for a server on the
	// same machine, a Unix socket costs both sides less per message than
	// loopback TCP. TLS does not apply to a Unix socket: TLSPrefer means
	// none there, TLSRequire and TLSVerifyFull are refused.
	Host     string
	Port     int // default 5432 (also names the socket file, .s.PGSQL.PORT)
	User     string
	Password string // resolved by the caller; never shown in errors
	Database string
	TLS      TLSMode // default TLSPrefer
	// CAFile holds the roots for TLSVerifyFull (default: the system's).
	CAFile string
	// ConnectTimeout bounds the TCP connect, TLS handshake and login
	// together (DefaultConnectTimeout); it also bounds a CancelRequest.
	ConnectTimeout time.Duration
	// RuntimeParams are sent in the startup message, e.g.
	// application_name=shardgate.
	RuntimeParams map[string]string
	// MaxMessageSize bounds a message from the server
	// (DefaultMaxMessageSize).
	MaxMessageSize int
	// BufferPool, if set, provides the connections' read and write
	// buffers.
	BufferPool *pgio.BufferPool
	// Spin, if set, lets a read that waits for the server's answer poll
	// first while one client is at work (internal/netwait).
	Spin *netwait.Spin
}

// EnsureDefaults fills in zero fields.
func (o *DialOptions) EnsureDefaults() {
	if o.Port == 0 {
		o.Port = 5432
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
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
}

// Unix reports whether Host names a Unix socket folder.
func (o *DialOptions) Unix() bool { return strings.HasPrefix(o.Host, "/") }

// network is the network and address to dial for o (pgconn's rule, as
// libpq's: an absolute path is a socket folder).
func (o *DialOptions) network() (network, address string) {
	return pgconn.NetworkAddress(o.Host, uint16(o.Port))
}

// Validate reports what is wrong with o after EnsureDefaults.
func (o *DialOptions) Validate() error {
	var errs []error
	if o.Host == "" {
		errs = append(errs, errors.New("host is missing"))
	} else if o.Unix() && (o.TLS == TLSRequire || o.TLS == TLSVerifyFull) {
		errs = append(errs, fmt.Errorf("TLS mode %s asks for TLS, which a Unix socket (host %s) does not have", o.TLS, o.Host))
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
	if o.CAFile != "" && o.TLS != TLSVerifyFull {
		errs = append(errs, fmt.Errorf("a CA file is used only with TLS mode verify-full (mode is %s)", o.TLS))
	}
	if o.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("connect timeout %s is negative", o.ConnectTimeout))
	}
	if o.MaxMessageSize < 0 {
		errs = append(errs, fmt.Errorf("max message size %d is negative", o.MaxMessageSize))
	}
	for k := range o.RuntimeParams {
		switch strings.ToLower(k) {
		case "user", "database", "password", "replication":
			errs = append(errs, fmt.Errorf("runtime parameter %q is set by the dial options themselves", k))
		}
	}
	return errors.Join(errs...)
}

// PoolOptions shape a Pool.
type PoolOptions struct {
	Dial DialOptions
	// MaxConns caps the pool's connections, idle, in use and being
	// dialled (default 20).
	MaxConns int
	// MinIdle idle connections are kept open, dialled ahead of need,
	// within MaxConns (default 0).
	MinIdle int
	// IdleTimeout closes a connection idle for this long, down to MinIdle
	// (default 5m).
	IdleTimeout time.Duration
	// MaxLifetime closes a connection this old when it is next released
	// or idle, less up to 10% jitter so that connections dialled together
	// do not all go together (default 1h; negative: no limit).
	MaxLifetime time.Duration
	// AcquireTimeout bounds waiting for a connection when the pool is at
	// MaxConns (default 5s). Dialling has its own Dial.ConnectTimeout.
	AcquireTimeout time.Duration
	// MaintenanceInterval is how often idle connections are checked
	// (default: a quarter of the shorter of IdleTimeout and MaxLifetime,
	// between 10ms and 1s).
	MaintenanceInterval time.Duration
	// LivenessCheckAfter: Acquire checks with the kernel (one MSG_PEEK
	// system call) that the server has not closed a connection idle this
	// long (default 1s; like PgBouncer's server_check_delay, which is
	// 30s). A dead connection used sooner fails its statement as a lost
	// connection, which is never retried. Negative: always check.
	LivenessCheckAfter time.Duration
	// Listener receives the pool's events.
	Listener Listener
}

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
	if o.LivenessCheckAfter == 0 {
		o.LivenessCheckAfter = time.Second
	}
	if o.AcquireTimeout == 0 {
		o.AcquireTimeout = 5 * time.Second
	}
	if o.MaintenanceInterval == 0 {
		d := o.IdleTimeout
		if o.MaxLifetime > 0 && o.MaxLifetime < d {
			d = o.MaxLifetime
		}
		d /= 4
		o.MaintenanceInterval = min(max(d, 10*time.Millisecond), time.Second)
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
	if o.MinIdle < 0 || o.MinIdle > o.MaxConns {
		errs = append(errs, fmt.Errorf("min idle must be between 0 and max conns (%d), got %d", o.MaxConns, o.MinIdle))
	}
	if o.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("idle timeout %s is negative", o.IdleTimeout))
	}
	if o.AcquireTimeout < 0 {
		errs = append(errs, fmt.Errorf("acquire timeout %s is negative", o.AcquireTimeout))
	}
	if o.MaintenanceInterval < 0 {
		errs = append(errs, fmt.Errorf("maintenance interval %s is negative", o.MaintenanceInterval))
	}
	return errors.Join(errs...)
}
