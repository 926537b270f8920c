package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Dial connects and logs into one node and returns the connection, idle
// (ReadyForQuery received) and no longer driven by pgconn. ctx bounds the
// whole login, as does o.ConnectTimeout. A failure is a *sqlerr.Error with
// code 08006 (or 57014 when ctx ended) that names the node but carries no
// secret; SafeToRetry is true for it.
func Dial(ctx context.Context, o DialOptions) (*Conn, error) {
	d, err := newDialer(o)
	if err != nil {
		return nil, err
	}
	return d.dial(ctx)
}

// dialer logs into one node again and again from one parsed pgconn
// configuration.
type dialer struct {
	o    DialOptions
	base *pgconn.Config
}

func newDialer(o DialOptions) (*dialer, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, notSent(sqlerr.New(sqlerr.ConnectionFailure, "could not connect to server %s", o.Node).
			WithDetail("invalid connection settings: %v", err), err)
	}
	cfg, err := pgconnConfig(&o)
	if err != nil {
		return nil, dialError(o.Node, err)
	}
	return &dialer{o: o, base: cfg}, nil
}

// pgconnConfig builds pgconn's configuration from o alone. ParseConfig
// also reads PG* environment variables and files under the home folder
// (.pgpass, root.crt); every setting that matters is set explicitly
// afterwards so that none of those reach a pooled server connection.
func pgconnConfig(o *DialOptions) (*pgconn.Config, error) {
	cfg, err := pgconn.ParseConfig("host=127.0.0.1 port=5432 user=shardgate sslmode=disable sslcertmode=disable " +
		"target_session_attrs=any min_protocol_version=3.0 max_protocol_version=3.0 channel_binding=prefer")
	if err != nil {
		return nil, fmt.Errorf("backend: pgconn configuration: %w", err)
	}
	tlsConfig, fallback, err := tlsConfigs(o)
	if err != nil {
		return nil, err
	}
	cfg.Host = o.Host
	cfg.Port = uint16(o.Port)
	cfg.User = o.User
	cfg.Password = o.Password
	cfg.Database = o.Database
	cfg.TLSConfig = tlsConfig
	cfg.Fallbacks = nil
	if fallback {
		cfg.Fallbacks = []*pgconn.FallbackConfig{{Host: o.Host, Port: uint16(o.Port)}}
	}
	cfg.SSLNegotiation = ""
	cfg.SSLCertMode = "disable"
	cfg.ConnectTimeout = o.ConnectTimeout
	cfg.RuntimeParams = maps.Clone(o.RuntimeParams)
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.KerberosSrvName, cfg.KerberosSpn = "", ""
	cfg.ValidateConnect, cfg.AfterConnect, cfg.AfterNetConnect = nil, nil, nil
	cfg.OnNotice, cfg.OnNotification = nil, nil
	cfg.RequireAuth = ""
	cfg.MinProtocolVersion, cfg.MaxProtocolVersion = "3.0", "3.0"
	cfg.MaxProtocolMessageBodyLen = o.MaxMessageSize
	return cfg, nil
}

// tlsConfigs returns the TLS configuration of the first attempt and
// whether to fall back to plain TCP when the server refuses TLS.
func tlsConfigs(o *DialOptions) (*tls.Config, bool, error) {
	switch o.TLS {
	case TLSDisable:
		return nil, false, nil
	case TLSPrefer:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, true, nil
	case TLSRequire:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, false, nil
	case TLSVerifyFull:
		c := &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, false, fmt.Errorf("backend: reading CA file: %w", err)
			}
			c.RootCAs = x509.NewCertPool()
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				return nil, false, fmt.Errorf("backend: CA file %s holds no PEM certificate", o.CAFile)
			}
		}
		return c, false, nil
	}
	return nil, false, fmt.Errorf("backend: unknown TLS mode %q", o.TLS)
}

func (d *dialer) dial(ctx context.Context) (*Conn, error) {
	parent := ctx
	if err := parent.Err(); err != nil {
		return nil, canceledError(d.o.Node, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.ConnectTimeout)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, d.base.Copy())
	if err != nil {
		if perr := parent.Err(); perr != nil {
			return nil, canceledError(d.o.Node, perr)
		}
		// The socket's deadline can pass a moment before the parent's
		// Done channel closes.
		if dl, ok := parent.Deadline(); ok && !time.Now().Before(dl) {
			return nil, canceledError(d.o.Node, context.DeadlineExceeded)
		}
		return nil, dialError(d.o.Node, err)
	}
	// pgconn may have read ahead or started its background reader; the
	// socket is ours only once both are done.
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(context.Background())
		return nil, dialError(d.o.Node, err)
	}
	hj, err := pc.Hijack()
	if err != nil {
		pc.Close(context.Background())
		return nil, dialError(d.o.Node, err)
	}
	return newConn(hj, &d.o), nil
}
