package proxy

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestHotpathReviewExtendedSetAfterCommitInBatch: one extended batch (one
// Sync) runs BEGIN, a keyed read, COMMIT, then SET TimeZone. On Postgres
// the SET runs in a new implicit transaction after the COMMIT and commits
// at Sync: the session's TimeZone is Europe/Paris afterwards.
//
// Review finding (cb7668b/0c4666a): the SET's Execute completes while
// s.txOpen is still true (the COMMIT's ReadyForQuery has not come: it is
// the batch's last answer), so setDone records it as a tentative SET of
// the transaction (txSets); at the ReadyForQuery, noteReady settles it
// with endTxSettings(l, s.lastTag == "COMMIT"), and the last tag is "SET",
// so the SET is dropped as if rolled back. The server connection has
// TimeZone=Europe/Paris while its applied key says it has the session's
// settings without it: the session's other connections miss the SET, and
// the next client with the same settings gets the connection with the
// stale TimeZone (a leak between clients, transaction pooling).
//
// Proposed fix: settle a transaction's SETs by what ended it, not by the
// last tag of the batch: note the COMMIT/ROLLBACK tag when its
// CommandComplete is relayed (endTxSettings at that point, or keep a
// "committed" flag set by the COMMIT's tag), and have setDone treat a SET
// completing after the transaction's end (the COMMIT's CommandComplete was
// read) as a batch SET (batchSets), not a txSet.
func TestHotpathReviewExtendedSetAfterCommitInBatch(t *testing.T) {
	if os.Getenv("SHARDGATE_REVIEW") == "" {
		t.Skip("review finding; run with SHARDGATE_REVIEW=1")
	}
	ctx := context.Background()
	const lo, hi = 1_871_000, 1_871_999
	cleanUsers(t, lo, hi)
	ids := idsOnShards(t, lo)
	c := dialMode(t, proxyURL, pgx.QueryExecModeSimpleProtocol)
	for _, id := range ids {
		if _, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'tz')", id)); err != nil {
			t.Fatal(err)
		}
	}
	b := &pgconn.Batch{}
	b.ExecParams("BEGIN", nil, nil, nil, nil)
	b.ExecParams(fmt.Sprintf("SELECT 1 FROM users WHERE id = %d", ids[0]), nil, nil, nil, nil)
	b.ExecParams("COMMIT", nil, nil, nil, nil)
	b.ExecParams("SET TimeZone = 'Europe/Paris'", nil, nil, nil, nil)
	if _, err := c.PgConn().ExecBatch(ctx, b).ReadAll(); err != nil {
		t.Fatal(err)
	}
	// Every shard's connection must say Europe/Paris, as Postgres does
	// after the batch.
	var n int64
	err := c.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM users WHERE id BETWEEN %d AND %d
		AND current_setting('TimeZone') = 'Europe/Paris'`, lo, hi)).Scan(&n)
	if err != nil || n != 2 {
		t.Errorf("a cross-shard read after the batch counted %d rows (%v) at TimeZone Europe/Paris, want 2 (one per shard): the SET after COMMIT was not recorded", n, err)
	}
	// Another client, with the default settings, must never see it.
	for i := 0; i < 4; i++ {
		o := dialMode(t, proxyURL, pgx.QueryExecModeSimpleProtocol)
		var tz string
		if err := o.QueryRow(ctx, fmt.Sprintf("SELECT current_setting('TimeZone') FROM users WHERE id = %d", ids[0])).Scan(&tz); err != nil {
			t.Fatal(err)
		}
		if tz == "Europe/Paris" {
			t.Errorf("another client read TimeZone %q: client A's SET leaked through its server connection", tz)
			break
		}
	}
}
