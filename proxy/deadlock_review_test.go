package proxy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Review of the cross-shard deadlock detector (issue 6,
// frontend/pgwire/deadlock*.go). Guarded tests are findings that fail
// today: run them with
// SHARDGATE_REVIEW=1 go test ./proxy -run TestReviewDeadlock -count=1.

// Finding: a scatter read is not "in flight" while it waits. scatterRun
// marks it active (session_scatter.go), then drain(false), run for the
// settings replays, ends by clearing inFlight ("everything sent has been
// answered", session_pipeline.go) although the shards have not answered
// the read yet. So the client's own CancelRequest (session.go cancel
// returns at !inFlight) never reaches a scatter read: here one that waits
// for a table lock on one shard runs on until the lock is released (3s
// later, by the test) and answers as if no cancel had come. (The same
// flag is why the deadlock detector never sees a cycle through a scatter
// read in a transaction: such a cycle waits forever; and even in flight,
// only links[0] would be cancelled.)
func TestReviewDeadlockScatterReadCancel(t *testing.T) {
	ctx := context.Background()
	// A session straight on shard 1 holds the table.
	d := directShard(t, 1)
	dtx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dtx.Exec(ctx, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
		rollbackSoon(dtx)
		t.Fatal(err)
	}
	released := make(chan struct{})
	release := time.AfterFunc(3*time.Second, func() { rollbackSoon(dtx); close(released) })
	defer func() {
		if release.Stop() {
			rollbackSoon(dtx)
		} else {
			<-released
		}
	}()
	c := connectCancelling(t) // a CancelRequest when qctx ends
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err = c.QueryRow(qctx, "SELECT count(*) FROM users").Scan(&n)
	took := time.Since(start)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" || took > 2*time.Second {
		t.Fatalf("cancel of a scatter read waiting for a lock: %v after %s; want 57014 (canceling statement due to user request) at once", err, took.Round(time.Millisecond))
	}
}

// rollbackSoon rolls tx back, giving up after 3s (its connection may
// still be busy with a statement the test gave up on).
func rollbackSoon(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tx.Rollback(ctx) //nolint:errcheck
}
