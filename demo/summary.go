package demo

import (
	"fmt"
	"io"
	"time"

	"github.com/shardgate/shardgate/sandbox"
)

// printSummary tells the user how to connect, and what to try.
func printSummary(w io.Writer, info Info, opts Options, took time.Duration) {
	fmt.Fprintf(w, "\nshardgate demo is up (%.1fs)\n\n", took.Seconds())
	fmt.Fprintf(w, "  admin      http://%s/healthz\n", info.AdminAddr)
	fmt.Fprintf(w, "  config     %s\n", info.ConfigPath)
	fmt.Fprintf(w, "  store      %s\n\n", info.StoreDir)
	fmt.Fprintf(w, "  Postgres endpoint 127.0.0.1:%d and MySQL endpoint 127.0.0.1:%d: not built yet\n", opts.PostgresPort, opts.MySQLPort)
	fmt.Fprintf(w, "  (issues 4 and 8). Until then, reach the shards directly (user %s, password %s):\n\n", User, Password)
	for _, c := range []*sandbox.Cluster{info.Postgres, info.MariaDB} {
		for i, sh := range c.Shards {
			fmt.Fprintf(w, "  %-8s shard %-4s primary  %s\n", c.Engine, keyRanges[i], clientCommand(sh.Primary))
			for _, r := range sh.Replicas {
				fmt.Fprintf(w, "  %-8s shard %-4s replica  %s\n", c.Engine, keyRanges[i], clientCommand(r))
			}
		}
	}
	pg0 := info.Postgres.Shards[0].Primary
	fmt.Fprintf(w, "\ntry this:\n")
	fmt.Fprintf(w, "  curl -s http://%s/healthz\n", info.AdminAddr)
	fmt.Fprintf(w, "  shardgate map show -c %s\n", info.ConfigPath)
	fmt.Fprintf(w, "  %s -c 'SELECT id, name, region FROM users ORDER BY id'   # the users of shard -80\n", clientCommand(pg0))
	fmt.Fprintf(w, "\nCtrl-C stops everything.\n")
}

func clientCommand(n *sandbox.Node) string {
	if n.Engine == sandbox.Postgres {
		return fmt.Sprintf("psql 'postgres://%s:%s@%s:%d/%s'", User, Password, n.Host, n.Port, Database)
	}
	return fmt.Sprintf("mariadb -h %s -P %d -u %s -p%s %s", n.Host, n.Port, User, Password, Database)
}
