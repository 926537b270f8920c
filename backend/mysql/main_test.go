package mysql

import (
	"context"
	"testing"

	"github.com/shardgate/shardgate/sandbox"
)

// The package's tests share one standalone MariaDB (user app/app,
// database app) with one InnoDB table.
var node *sandbox.Node

func TestMain(m *testing.M) {
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{})
		if err != nil {
			return nil, err
		}
		node = c.Shards[0].Primary
		if err := node.Exec(ctx, "CREATE TABLE app.t (id BIGINT PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"); err != nil {
			c.Stop()
			return nil, err
		}
		return c.Stop, nil
	})
}

func dialOptions() DialOptions {
	return DialOptions{Host: node.Host, Port: node.Port, User: "app", Password: "app", Database: "app"}
}

func dialTest(t *testing.T) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), dialOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func exec(t *testing.T, c *Conn, sql string) []string {
	t.Helper()
	res, _, err := c.Exec(sql, 1000)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out []string
	for _, row := range res.Rows {
		for _, v := range row {
			if v.IsNull() {
				out = append(out, "NULL")
			} else {
				out = append(out, v.ToString())
			}
		}
	}
	return out
}
