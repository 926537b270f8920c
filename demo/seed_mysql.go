package demo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/go-sql-driver/mysql" // database/sql driver for the MySQL endpoint
)

// seedMySQLThroughProxy creates the MariaDB demo tables and rows through
// the proxy's MySQL endpoint, as an app would: plain CREATE TABLE (fanned
// out shard by shard) and one multi-row INSERT per table (split by key
// into one XA transaction; the products rows reach every copy). Orders
// carry their ids: the MySQL endpoint has no id generator yet.
func seedMySQLThroughProxy(ctx context.Context, addr string) error {
	db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s", User, Password, addr, Database))
	if err != nil {
		return fmt.Errorf("demo: connect through the MySQL endpoint: %w", err)
	}
	defer db.Close()
	var stmts []string
	for _, t := range tables {
		stmts = append(stmts, strings.Split(t.mariadb, ";\n")...)
	}
	stmts = append(stmts, seedInserts(true)...)
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("demo: through the MySQL endpoint: %s: %w", firstLine(q), err)
		}
	}
	return nil
}
