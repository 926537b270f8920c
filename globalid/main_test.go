package globalid

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/sandbox"
)

// The integration tests share one 2-shard Postgres cluster; without
// Postgres on this machine they skip (the pure tests still run).
var cluster *sandbox.Cluster

func TestMain(m *testing.M) {
	if err := sandbox.Available(sandbox.Postgres); err != nil {
		fmt.Fprintf(os.Stderr, "globalid: no Postgres (%v): integration tests skip\n", err)
		os.Exit(m.Run())
	}
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		var err error
		cluster, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2})
		if err != nil {
			return nil, err
		}
		return cluster.Stop, nil
	})
}

// connect opens a connection to shard i's primary as app; it closes with
// the test.
func connect(t *testing.T, i int) *pgx.Conn {
	t.Helper()
	if cluster == nil {
		t.Skip("no Postgres cluster")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.Shards[i].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
