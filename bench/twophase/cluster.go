package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/bench/harness"
	"github.com/shardgate/shardgate/sandbox"
)

const (
	createUsers = `CREATE TABLE users (id bigint PRIMARY KEY, name text, balance numeric)`
	// The Go client's decision log for row 4+: shardgate's
	// public.shardgate_2pc, under another name.
	createDecisions = `CREATE TABLE bench_2pc_decision (
	gid        text PRIMARY KEY,
	decision   text NOT NULL CHECK (decision IN ('commit', 'abort')),
	owner      text NOT NULL,
	decided_at timestamptz NOT NULL DEFAULT now())`
)

// shards are direct connections to the two shards' primaries, for setup
// and for the checks between runs.
type shards [2]*pgx.Conn

func connectShards(ctx context.Context, c *sandbox.Cluster) (shards, error) {
	var s shards
	for i := range s {
		conn, err := pgx.Connect(ctx, c.Shards[i].Primary.DSN("app", "app", "app"))
		if err != nil {
			s.close(ctx)
			return s, fmt.Errorf("shard %d: %w", i, err)
		}
		s[i] = conn
	}
	return s, nil
}

func (s shards) close(ctx context.Context) {
	for _, c := range s {
		if c != nil {
			c.Close(ctx)
		}
	}
}

// createSchema creates users on both shards and the Go client's decision
// log on shard 0.
func (s shards) createSchema(ctx context.Context) error {
	for i, c := range s {
		if _, err := c.Exec(ctx, createUsers); err != nil {
			return fmt.Errorf("shard %d: %w", i, err)
		}
	}
	_, err := s[0].Exec(ctx, createDecisions)
	return err
}

// reset empties the tables before a run, so that a run's rows can be
// counted and every run starts from the same table size.
func (s shards) reset(ctx context.Context) error {
	for i, c := range s {
		if _, err := c.Exec(ctx, "TRUNCATE users"); err != nil {
			return fmt.Errorf("shard %d: %w", i, err)
		}
	}
	_, err := s[0].Exec(ctx, "TRUNCATE bench_2pc_decision")
	return err
}

// census is what a run left on the shards.
type census struct {
	rows     [2]int64 // users rows per shard
	misplace [2]int64 // rows whose id belongs to the other shard
	prepared [2][]string
}

func (s shards) census(ctx context.Context) (census, error) {
	var c census
	for i, conn := range s {
		err := conn.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE (id >= $1) <> ($2 = 1)) FROM users", int64(splitID), i).
			Scan(&c.rows[i], &c.misplace[i])
		if err != nil {
			return c, fmt.Errorf("shard %d: %w", i, err)
		}
		rows, err := conn.Query(ctx, "SELECT gid FROM pg_prepared_xacts ORDER BY gid")
		if err != nil {
			return c, fmt.Errorf("shard %d: %w", i, err)
		}
		if c.prepared[i], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return c, fmt.Errorf("shard %d: %w", i, err)
		}
	}
	return c, nil
}

// check compares what a run left with what its transactions should have:
// nothing prepared on either shard, and on each shard exactly the rows
// txs transactions of layout l put there (2 × txs in all).
func (c census) check(l layout, txs int64) error {
	var problems []string
	for i := range 2 {
		if n := len(c.prepared[i]); n > 0 {
			problems = append(problems, fmt.Sprintf("%d prepared transaction(s) left on shard %d (%s)", n, i, harness.FirstLine(strings.Join(c.prepared[i], ", "))))
		}
		if want := l.perShard()[i] * txs; c.rows[i] != want {
			problems = append(problems, fmt.Sprintf("shard %d has %d rows, want %d (%d transactions of %s)", i, c.rows[i], want, txs, l))
		}
		if c.misplace[i] > 0 {
			problems = append(problems, fmt.Sprintf("shard %d holds %d rows of the other shard", i, c.misplace[i]))
		}
	}
	if txs == 0 {
		problems = append(problems, "no transaction ran")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// leftPrepared says whether a run left prepared transactions: the next
// TRUNCATE would wait for them forever.
func (c census) leftPrepared() bool { return len(c.prepared[0])+len(c.prepared[1]) > 0 }
