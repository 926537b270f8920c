package failover

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// Login is how failover logs into a shard's nodes. Fencing, promoting and
// re-pointing need a superuser, or on Postgres 15 a role granted
// ALTER SYSTEM on default_transaction_read_only and primary_conninfo,
// EXECUTE on pg_promote and pg_reload_conf, pg_signal_backend and
// pg_monitor (docs/design/failover.md).
type Login struct {
	User     string
	Password string
	TLS      backend.TLSMode
	CAFile   string
	// ConnectTimeout bounds one login (default 2s): a node that does not
	// answer in that time counts as unreachable.
	ConnectTimeout time.Duration
}

// LoginFromConfig is the backend's control user.
func LoginFromConfig(b *config.Backend) Login {
	user, password := b.EffectiveControlUser()
	return Login{User: user, Password: password.Reveal(), TLS: backend.TLSMode(b.TLS.Mode), CAFile: b.TLS.CAFile}
}

func (l Login) connect(ctx context.Context, n shardmap.Node, database string) (*pgconn.PgConn, error) {
	timeout := l.ConnectTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	cfg, err := backend.PgConnConfig(backend.DialOptions{
		Node: n.Name, Host: n.Host, Port: n.Port, User: l.User, Password: l.Password, Database: database,
		TLS: l.TLS, CAFile: l.CAFile, ConnectTimeout: timeout,
		RuntimeParams: map[string]string{"application_name": "shardgate-failover"},
	})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := pgconn.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s (%s): %w", n.Name, n.Addr, err)
	}
	return c, nil
}

// closeConn closes c, waiting at most a second for a hung server.
func closeConn(c *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
}
