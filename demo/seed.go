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
	var rows []string
	for _, u := range demoUsers() {
		rows = append(rows, fmt.Sprintf("(%d, %s, %s, %s)", u.id, quote(u.name), quote(u.region), u.balance))
	}
	stmts = append(stmts, "INSERT INTO users (id, name, region, balance) VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	for _, o := range demoOrders() {
		rows = append(rows, fmt.Sprintf("(%d, %d, %s, %s)", o.id, o.userID, o.amount, quote(o.status)))
	}
	stmts = append(stmts, "INSERT INTO orders (id, user_id, amount, status) VALUES "+strings.Join(rows, ", "))
	rows = rows[:0]
	for _, p := range products {
		rows = append(rows, fmt.Sprintf("(%d, %s, %s)", p.id, quote(p.name), p.price))
	}
	stmts = append(stmts, "INSERT INTO products (id, name, price) VALUES "+strings.Join(rows, ", "))
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("demo: through the MySQL endpoint: %s: %w", firstLine(q), err)
		}
	}
	return nil
}
