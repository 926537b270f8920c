package proxy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Review of cross-shard reads inside transactions through the extended
// protocol (be0b3cc, 4c11e74, a29195d, 0780983). Failing findings are
// guarded by SHARDGATE_REVIEW=1 (reviewFinding).

// reviewTrace sends msgs on a raw session and returns what came back up
// to the nth ReadyForQuery, one token per message: 1 2 C D<v> E<code> Z<s>.
func reviewTrace(t *testing.T, fe *pgproto3.Frontend, hj interface{ Write([]byte) (int, error) }, ready int, msgs ...pgproto3.FrontendMessage) string {
	t.Helper()
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := hj.Write(buf); err != nil {
		t.Fatal(err)
	}
	var got []string
	for ready > 0 {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			got = append(got, "E"+m.Code)
		case *pgproto3.ReadyForQuery:
			got = append(got, "Z"+string(m.TxStatus))
			ready--
		case *pgproto3.ParseComplete:
			got = append(got, "1")
		case *pgproto3.BindComplete:
			got = append(got, "2")
		case *pgproto3.DataRow:
			got = append(got, "D"+string(m.Values[0]))
		case *pgproto3.CommandComplete:
			got = append(got, "C")
		}
	}
	return strings.Join(got, " ")
}

func reviewCount(t *testing.T, lo, hi int64) int64 {
	t.Helper()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	var n int64
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func txt(v int64) []byte { return []byte(fmt.Sprint(v)) }

// The cross-shard read inside a transaction runs as Parse "" / Bind "" /
// Execute "" on each of the transaction's connections
// (executeScatterTexts), and client portals are forwarded under their own
// names: the client's unnamed portal, bound on the transaction's shard
// before the read, is replaced by the read's. Executing it afterwards
// answers the read's exhausted portal (no row) instead of the client's
// row. Postgres keeps both portals (a named one and the unnamed one) until
// the transaction ends.
func TestReviewScatterTxUnnamedPortalClobbered(t *testing.T) {
	const lo, hi = 1_790_000, 1_790_099
	cleanUsers(t, lo, hi)
	hj, fe := rawSession(t)
	w := hj.Conn
	if got := reviewTrace(t, fe, w, 1, &pgproto3.Query{String: "BEGIN"}); got != "C ZT" {
		t.Fatalf("BEGIN: %s", got)
	}
	if got := reviewTrace(t, fe, w, 1, &pgproto3.Query{String: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'mine')", lo+1)}); got != "C ZT" {
		t.Fatalf("INSERT: %s", got)
	}
	got := reviewTrace(t, fe, w, 1,
		&pgproto3.Parse{Name: "one", Query: "SELECT name FROM users WHERE id = $1"},
		&pgproto3.Bind{PreparedStatement: "one", Parameters: [][]byte{txt(lo + 1)}},
		&pgproto3.Parse{Name: "all", Query: "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2"},
		&pgproto3.Bind{DestinationPortal: "c", PreparedStatement: "all", Parameters: [][]byte{txt(lo), txt(hi)}},
		&pgproto3.Execute{Portal: "c"},
		&pgproto3.Execute{Portal: ""},
		&pgproto3.Sync{},
	)
	if want := "1 2 1 2 D1 C Dmine C ZT"; got != want {
		t.Errorf("unnamed portal executed after a cross-shard read in the transaction:\n got %s\nwant %s", got, want)
	}
	reviewTrace(t, fe, w, 1, &pgproto3.Query{String: "ROLLBACK"})
	wantNonePrepared(t)
}

// A pipeline without BEGIN is one implicit transaction up to Sync. A
// cross-shard read bound before a write and executed after it would run on
// fresh pooled connections, not seeing the pipeline's own write; and a
// failing read must roll the whole pipeline back, as Postgres would. The
// proxy refuses the read (0A000), and the refusal fails the pipeline's
// implicit transaction: its write does not commit.
func TestReviewScatterTxImplicitPipeline(t *testing.T) {
	const lo, hi = 1_791_000, 1_791_099
	cleanUsers(t, lo, hi)
	hj, fe := rawSession(t)
	w := hj.Conn
	got := reviewTrace(t, fe, w, 1,
		&pgproto3.Parse{Name: "all", Query: "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2"},
		&pgproto3.Bind{DestinationPortal: "c", PreparedStatement: "all", Parameters: [][]byte{txt(lo), txt(hi)}},
		&pgproto3.Parse{Name: "ins", Query: "INSERT INTO users (id, name) VALUES ($1, 'pipe')"},
		&pgproto3.Bind{PreparedStatement: "ins", Parameters: [][]byte{txt(lo + 3)}},
		&pgproto3.Execute{},
		&pgproto3.Execute{Portal: "c"},
		&pgproto3.Sync{},
	)
	switch got {
	case "1 2 1 2 C D1 C ZI": // the read saw the pipeline's write
	case "1 2 1 2 C E0A000 ZI": // refused: the write must not commit
		if n := reviewCount(t, lo+3, lo+3); n != 0 {
			t.Errorf("the pipeline failed (0A000) but its write committed: %d row(s) of id %d, want 0", n, lo+3)
		}
		return
	default:
		t.Fatalf("a cross-shard read after a write in one pipeline:\n got %s\nwant 1 2 1 2 C D1 C ZI (the read sees the pipeline's write) or a 0A000 refusal", got)
	}
	// lo+3 exists now: the read below divides by zero on its shard.
	got = reviewTrace(t, fe, w, 1,
		&pgproto3.Parse{Name: "bad", Query: "SELECT 1 / (id - $3) FROM users WHERE id BETWEEN $1 AND $2"},
		&pgproto3.Bind{DestinationPortal: "b", PreparedStatement: "bad", Parameters: [][]byte{txt(lo), txt(hi), txt(lo + 3)}},
		&pgproto3.Bind{PreparedStatement: "ins", Parameters: [][]byte{txt(lo + 4)}},
		&pgproto3.Execute{},
		&pgproto3.Execute{Portal: "b"},
		&pgproto3.Sync{},
	)
	if !strings.Contains(got, "E22012") {
		t.Fatalf("the failing read: %s", got)
	}
	if n := reviewCount(t, lo+4, lo+4); n != 0 {
		t.Errorf("the pipeline failed (22012) but its write committed: %d row(s) of id %d, want 0", n, lo+4)
	}
}

// snapshotIsolation reads the session's isolation from a recorded
// "SET default_transaction_isolation" only: SET SESSION CHARACTERISTICS AS
// TRANSACTION ISOLATION LEVEL REPEATABLE READ (the SQL-standard spelling
// of the same setting) is not seen, so a plain BEGIN's transaction, at
// REPEATABLE READ on every server, lets a cross-shard read join a second
// shard with a snapshot of its own (docs/design/cross-shard.md: refused at
// REPEATABLE READ). The read then sees another client's commit that came
// after the transaction's snapshot on its first shard: at REPEATABLE READ
// one database would not show it.
func TestReviewScatterTxSessionCharacteristicsRR(t *testing.T) {
	const lo, hi = 1_792_000, 1_792_099
	cleanUsers(t, lo, hi)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	other := connect(t, pgx.QueryExecModeSimpleProtocol)
	if _, err := c.Exec(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	defer c.Exec(ctx, "ROLLBACK") //nolint:errcheck
	if _, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'mine')", lo+1)); err != nil {
		t.Fatal(err)
	}
	var iso string
	if err := c.QueryRow(ctx, "SHOW transaction_isolation").Scan(&iso); err != nil || iso != "repeatable read" {
		t.Fatalf("the transaction's isolation: %q %v", iso, err)
	}
	// Committed after the transaction's snapshot, on every shard.
	for id := lo + 10; id < lo+20; id++ {
		if _, err := other.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'later')", id)); err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	err := c.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM users WHERE id BETWEEN %d AND %d", lo, hi)).Scan(&n)
	if err == nil && n != 1 {
		t.Errorf("a cross-shard read at REPEATABLE READ (SESSION CHARACTERISTICS) counted %d rows, want 1 (or 0A000): it read rows committed after the transaction's snapshot", n)
	}
}

// Before the transaction reached a server, scatterInTxOK (and so
// readBeforeTx) judges the isolation from the BEGIN text alone
// (s.txBegin), unlike snapshotIsolation: the session's
// default_transaction_isolation (or SESSION CHARACTERISTICS) is not seen. Every cross-shard read of such a REPEATABLE READ transaction
// then runs beside it on pooled connections, each with a fresh snapshot:
// two identical reads differ when another client commits between them.
func TestReviewScatterTxRepeatableReadBeforeServer(t *testing.T) {
	ctx := context.Background()
	for i, setup := range [][]string{
		{"SET default_transaction_isolation = 'repeatable read'", "BEGIN"},
		{"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ", "BEGIN"},
	} {
		t.Run(setup[0], func(t *testing.T) {
			lo := int64(1_794_000 + i*1000)
			hi := lo + 99
			cleanUsers(t, lo, hi)
			c := connect(t, pgx.QueryExecModeSimpleProtocol)
			other := connect(t, pgx.QueryExecModeSimpleProtocol)
			for _, sql := range setup {
				if _, err := c.Exec(ctx, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			defer c.Exec(ctx, "ROLLBACK") //nolint:errcheck
			count := func() (int64, error) {
				var n int64
				err := c.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM users WHERE id BETWEEN %d AND %d", lo, hi)).Scan(&n)
				return n, err
			}
			n1, err := count()
			if err != nil {
				return // refused: fine
			}
			for id := lo + 1; id <= lo+10; id++ {
				if _, err := other.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'later')", id)); err != nil {
					t.Fatal(err)
				}
			}
			n2, err := count()
			if err == nil && n2 != n1 {
				t.Errorf("two identical cross-shard reads in one REPEATABLE READ transaction: %d, then %d", n1, n2)
			}
		})
	}
}

// A portal that ran to completion returns no more rows when executed
// again (Postgres answers CommandComplete "SELECT 0"); a cross-shard
// portal keeps only its Bind (scatterPortal) and runs the whole read again
// at every Execute, so its rows come twice. In a transaction (the rows
// are the transaction's own) as outside one.
func TestReviewScatterTxPortalExecutedTwice(t *testing.T) {
	const lo, hi = 1_796_000, 1_796_099
	cleanUsers(t, lo, hi)
	hj, fe := rawSession(t)
	w := hj.Conn
	reviewTrace(t, fe, w, 1, &pgproto3.Query{String: "BEGIN"})
	reviewTrace(t, fe, w, 1, &pgproto3.Query{String: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'mine')", lo+1)})
	got := reviewTrace(t, fe, w, 1,
		&pgproto3.Parse{Name: "all", Query: "SELECT name FROM users WHERE id BETWEEN $1 AND $2"},
		&pgproto3.Bind{DestinationPortal: "c", PreparedStatement: "all", Parameters: [][]byte{txt(lo), txt(hi)}},
		&pgproto3.Execute{Portal: "c"},
		&pgproto3.Execute{Portal: "c"},
		&pgproto3.Sync{},
	)
	if want := "1 2 Dmine C C ZT"; got != want {
		t.Errorf("a cross-shard portal executed twice:\n got %s\nwant %s", got, want)
	}
	reviewTrace(t, fe, w, 1, &pgproto3.Query{String: "ROLLBACK"})
}
