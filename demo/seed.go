package demo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/go-sql-driver/mysql" // database/sql driver for the MariaDB shards
	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// execer runs statements on one primary, in the engine's dialect.
type execer interface {
	exec(ctx context.Context, query string, args ...any) error
	close()
}

type pgExecer struct{ conn *pgx.Conn }

func (p pgExecer) exec(ctx context.Context, q string, args ...any) error {
	_, err := p.conn.Exec(ctx, q, args...)
	return err
}
func (p pgExecer) close() { p.conn.Close(context.Background()) }

type myExecer struct{ db *sql.DB }

func (m myExecer) exec(ctx context.Context, q string, args ...any) error {
	_, err := m.db.ExecContext(ctx, q, args...)
	return err
}
func (m myExecer) close() { m.db.Close() }

func connect(ctx context.Context, n *sandbox.Node) (execer, error) {
	dsn := n.DSN(User, Password, Database)
	if n.Engine == sandbox.Postgres {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.Name, err)
		}
		return pgExecer{c}, nil
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	db.SetMaxOpenConns(1)
	return myExecer{db}, nil
}

// seed creates the demo tables on every primary of c and inserts the rows,
// each sharded row on the shard the map routes it to: the map decides, so a
// proxy reading through the same map finds every row where it looks.
func seed(ctx context.Context, c *sandbox.Cluster, engine shardmap.Engine, snap *shardmap.Snapshot) error {
	ks, ok := snap.Keyspace(engine, Keyspace)
	if !ok {
		return fmt.Errorf("demo: no %s keyspace %q in the map", engine, Keyspace)
	}
	if len(ks.Shards()) != len(c.Shards) {
		return fmt.Errorf("demo: the map has %d %s shards, the cluster %d", len(ks.Shards()), engine, len(c.Shards))
	}
	conns := make([]execer, len(c.Shards))
	defer func() {
		for _, e := range conns {
			if e != nil {
				e.close()
			}
		}
	}()
	for i, sh := range c.Shards {
		e, err := connect(ctx, sh.Primary)
		if err != nil {
			return err
		}
		conns[i] = e
		for _, t := range tables {
			ddl := t.postgres
			if engine == shardmap.MySQL {
				ddl = t.mariadb
			}
			for _, stmt := range strings.Split(ddl, ";\n") {
				if err := e.exec(ctx, stmt); err != nil {
					return fmt.Errorf("demo: %s: create %s: %w", sh.Primary.Name, t.name, err)
				}
			}
		}
	}
	ph := func(n int) string { // the n-th placeholder, 1-based
		if engine == shardmap.MySQL {
			return "?"
		}
		return fmt.Sprintf("$%d", n)
	}
	shardOf := func(table string, key int64) (execer, error) {
		sh, err := snap.Lookup(engine, Keyspace, table, shardmap.Int(key))
		if err != nil {
			return nil, err
		}
		return conns[sh.Index], nil
	}
	for _, u := range demoUsers() {
		e, err := shardOf("users", u.id)
		if err != nil {
			return err
		}
		q := fmt.Sprintf("INSERT INTO users (id, name, region, balance) VALUES (%s, %s, %s, %s)", ph(1), ph(2), ph(3), ph(4))
		if err := e.exec(ctx, q, u.id, u.name, u.region, u.balance); err != nil {
			return fmt.Errorf("demo: insert user %d: %w", u.id, err)
		}
	}
	for _, o := range demoOrders() {
		e, err := shardOf("orders", o.userID)
		if err != nil {
			return err
		}
		q := fmt.Sprintf("INSERT INTO orders (id, user_id, amount, status) VALUES (%s, %s, %s, %s)", ph(1), ph(2), ph(3), ph(4))
		if err := e.exec(ctx, q, o.id, o.userID, o.amount, o.status); err != nil {
			return fmt.Errorf("demo: insert order %d: %w", o.id, err)
		}
	}
	for _, e := range conns { // a reference table: a full copy on every shard
		for _, p := range products {
			q := fmt.Sprintf("INSERT INTO products (id, name, price) VALUES (%s, %s, %s)", ph(1), ph(2), ph(3))
			if err := e.exec(ctx, q, p.id, p.name, p.price); err != nil {
				return fmt.Errorf("demo: insert product %d: %w", p.id, err)
			}
		}
	}
	return nil
}
