package proxy

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// 1,000 cancels of pg_sleep statements, from 20 clients at once, while 10
// other clients run short statements: every cancel stops its own statement
// (57014, promptly) and no other statement is ever cancelled. Each cancel
// is sent 100ms after its statement: a cancel that reaches Postgres before
// the statement does is ignored by Postgres itself, proxy or not.
func TestCancelOnlyOwnStatement(t *testing.T) {
	const cancellers, each, bystanders = 20, 50, 10
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wrongCancels, bystanderRuns atomic.Int64
	var wg sync.WaitGroup
	for b := 0; b < bystanders; b++ {
		c := connect(t, pgx.QueryExecModeExec)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := c.Exec(context.Background(), "SELECT pg_sleep(0.01)")
				if err != nil {
					if pgCode(err) == "57014" {
						wrongCancels.Add(1)
					} else {
						t.Errorf("bystander: %v", err)
						return
					}
				}
				bystanderRuns.Add(1)
			}
		}()
	}
	var cancelled, slow atomic.Int64
	var cw sync.WaitGroup
	for i := 0; i < cancellers; i++ {
		c := connectCancelling(t)
		cw.Add(1)
		go func() {
			defer cw.Done()
			for j := 0; j < each; j++ {
				qctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				start := time.Now()
				_, err := c.Exec(qctx, "SELECT pg_sleep(30)")
				cancel()
				if time.Since(start) > 10*time.Second {
					slow.Add(1)
				}
				if err == nil {
					t.Errorf("pg_sleep(30) finished without a cancel")
					return
				}
				if pgCode(err) == "57014" {
					cancelled.Add(1)
				} else {
					t.Errorf("cancelled statement: %v", err)
					return
				}
				// The session is usable right after.
				var one int
				if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
					t.Errorf("after cancel: %v", err)
					return
				}
			}
		}()
	}
	cw.Wait()
	stop()
	wg.Wait()
	if got := cancelled.Load(); got != cancellers*each {
		t.Errorf("%d of %d statements cancelled", got, cancellers*each)
	}
	if slow.Load() > 0 {
		t.Errorf("%d cancels took more than 10s", slow.Load())
	}
	if wrongCancels.Load() > 0 {
		t.Errorf("%d bystander statements were cancelled by someone else's cancel", wrongCancels.Load())
	}
	if bystanderRuns.Load() == 0 {
		t.Error("the bystanders never ran")
	}
	t.Logf("%d cancels, %d bystander statements untouched", cancelled.Load(), bystanderRuns.Load())
}

// connectCancelling connects a client that cancels with a CancelRequest when
// a context ends (pgx's default closes the connection instead).
func connectCancelling(t *testing.T) *pgx.Conn {
	t.Helper()
	return connectCancellingURL(t, proxyURL)
}

// connectCancellingURL is connectCancelling to url.
func connectCancellingURL(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 15 * time.Second}
	}
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
