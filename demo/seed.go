package demo

import (
	"fmt"
	"strings"
)

// seedInserts is one multi-row INSERT per demo table. Orders carry their
// ids only when withOrderIDs (the MySQL endpoint has no id generator; on
// Postgres the proxy fills them from the orders_id generator).
func seedInserts(withOrderIDs bool) []string {
	var users, orders, prods []string
	for _, u := range demoUsers() {
		users = append(users, fmt.Sprintf("(%d, %s, %s, %s)", u.id, quote(u.name), quote(u.region), u.balance))
	}
	orderCols := "user_id, amount, status"
	if withOrderIDs {
		orderCols = "id, " + orderCols
	}
	for _, o := range demoOrders() {
		row := fmt.Sprintf("%d, %s, %s", o.userID, o.amount, quote(o.status))
		if withOrderIDs {
			row = fmt.Sprintf("%d, %s", o.id, row)
		}
		orders = append(orders, "("+row+")")
	}
	for _, p := range products {
		prods = append(prods, fmt.Sprintf("(%d, %s, %s)", p.id, quote(p.name), p.price))
	}
	return []string{
		"INSERT INTO users (id, name, region, balance) VALUES " + strings.Join(users, ", "),
		"INSERT INTO orders (" + orderCols + ") VALUES " + strings.Join(orders, ", "),
		"INSERT INTO products (id, name, price) VALUES " + strings.Join(prods, ", "),
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
