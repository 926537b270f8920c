package demo

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// seedThroughProxy creates the Postgres demo tables and rows through the
// proxy, as an app would: plain CREATE TABLE (fanned out to every shard
// with two-phase commit), one multi-row INSERT per table (split by key;
// the products rows reach every copy), and orders without their id (the
// proxy fills it from the orders_id generator).
func seedThroughProxy(ctx context.Context, addr string) error {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(User, Password), Host: addr, Path: Database, RawQuery: "sslmode=prefer"}
	c, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("demo: connect through the proxy: %w", err)
	}
	defer c.Close(context.Background())
	var stmts []string
	for _, t := range tables {
		stmts = append(stmts, strings.Split(t.postgres, ";\n")...)
	}
	stmts = append(stmts, seedInserts(false)...)
	for _, q := range stmts {
		// No arguments: the simple protocol, one statement each.
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("demo: through the proxy: %s: %w", firstLine(q), err)
		}
	}
	return nil
}
