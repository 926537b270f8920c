package demo

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/shardgate/shardgate/sandbox"
)

// printSummary tells the user how to connect, and what to try.
func printSummary(w io.Writer, info Info, opts Options, took time.Duration) {
	pg := fmt.Sprintf("postgres://%s:%s@%s/%s", User, Password, info.PostgresAddr, Database)
	fmt.Fprintf(w, "\nshardgate demo is up (%.1fs)\n\n", took.Seconds())
	fmt.Fprintf(w, "  Postgres   psql '%s'\n", pg)
	my := ""
	if info.MySQLAddr != "" {
		host, port, _ := net.SplitHostPort(info.MySQLAddr)
		my = fmt.Sprintf("mariadb -h %s -P %s -u %s -p%s %s", host, port, User, Password, Database)
		fmt.Fprintf(w, "  MySQL      %s\n", my)
	} else {
		fmt.Fprintf(w, "  MySQL      127.0.0.1:%d: not serving\n", opts.MySQLPort)
	}
	fmt.Fprintf(w, "  admin      http://%s/healthz\n", info.AdminAddr)
	fmt.Fprintf(w, "  config     %s\n", info.ConfigPath)
	fmt.Fprintf(w, "  store      %s\n\n", info.StoreDir)
	fmt.Fprintf(w, "  The shards, directly (user %s, password %s):\n", User, Password)
	for _, c := range []*sandbox.Cluster{info.Postgres, info.MariaDB} {
		for i, sh := range c.Shards {
			fmt.Fprintf(w, "  %-8s shard %-4s primary  %s\n", c.Engine, keyRanges[i], clientCommand(sh.Primary))
			for _, r := range sh.Replicas {
				fmt.Fprintf(w, "  %-8s shard %-4s replica  %s\n", c.Engine, keyRanges[i], clientCommand(r))
			}
		}
	}
	fmt.Fprintf(w, "\ntry this:\n")
	fmt.Fprintf(w, "  psql '%s' -c 'SELECT * FROM users WHERE id = 3'            # one shard\n", pg)
	fmt.Fprintf(w, "  psql '%s' -c 'SELECT * FROM orders WHERE user_id = 3'       # co-located with user 3\n", pg)
	fmt.Fprintf(w, "  psql '%s' -c 'SELECT count(*) FROM users'                   # every shard, merged\n", pg)
	fmt.Fprintf(w, "  psql '%s' -c 'EXPLAIN ROUTE SELECT name FROM users ORDER BY name LIMIT 3'  # where it runs, and the merge\n", pg)
	fmt.Fprintf(w, "  psql '%s' -c \"UPDATE users SET region = 'eu'\"               # a write on every shard, committed with two-phase commit\n", pg)
	fmt.Fprintf(w, "  psql '%s' -c \"INSERT INTO users (id, name, region) VALUES (100, 'you', 'eu')\"\n", pg)
	fmt.Fprintf(w, "  psql '%s' -c 'SELECT * FROM products'                       # a reference table\n", pg)
	fmt.Fprintf(w, "  psql '%s' -c 'SHOW REPLICAS'   # lag and health of every node\n", strings.TrimSuffix(pg, "/app")+"/shardgate")
	if my != "" {
		fmt.Fprintf(w, "  %s -e 'SELECT * FROM users WHERE id = 3'             # one MariaDB shard\n", my)
		fmt.Fprintf(w, "  %s -e \"INSERT INTO orders VALUES (2000, 3, 9.99, 'new', NOW(6))\"\n", my)
	}
	fmt.Fprintf(w, "  curl -s http://%s/healthz\n", info.AdminAddr)
	fmt.Fprintf(w, "  curl -s http://%s/metrics | grep shardgate_\n", info.AdminAddr)
	fmt.Fprintf(w, "  shardgate map show -c %s\n", info.ConfigPath)
	fmt.Fprintf(w, "\nCtrl-C stops everything.\n")
}

func clientCommand(n *sandbox.Node) string {
	if n.Engine == sandbox.Postgres {
		return fmt.Sprintf("psql 'postgres://%s:%s@%s:%d/%s'", User, Password, n.Host, n.Port, Database)
	}
	return fmt.Sprintf("mariadb -h %s -P %d -u %s -p%s %s", n.Host, n.Port, User, Password, Database)
}
