package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/config"
)

// TestBatchTwoTransactions: one extended batch (Parse/Bind/Execute for
// each statement, one Sync) holding two explicit transactions, BEGIN …
// COMMIT; BEGIN … COMMIT. The second BEGIN comes after the first
// transaction's COMMIT was sent but before its answer was read, so the
// proxy must not take it for a BEGIN inside a transaction (WARNING 25001,
// not sent to the server): the second transaction's statements would run
// in the batch's implicit transaction. The same batch is sent straight to
// a shard's primary: the messages the client reads (types, tags, notices,
// errors, the final status), the rows left and the session's settings
// must be the same through the proxy, with both transactions on one shard
// and on two shards; and no other client may see the session's SETs.
func TestBatchTwoTransactions(t *testing.T) {
	// A proxy of its own: a leaked SET must not reach the other tests.
	url, _ := startProxy(t, func(*config.Config) {})
	const lo, hi = 1_893_000, 1_893_999
	cleanUsers(t, lo, hi)
	// Direct runs write ids from lo+900 on, on the first shard's primary.
	direct := cluster.Shards[0].Primary.DSN("app", "app", "app")
	a := idsOnShards(t, lo)
	b := idsOnShards(t, a[1]+1)
	same, other := [2]int64{a[0], b[0]}, [2]int64{a[0], a[1]}
	// One row per shard, to read the session's TimeZone there.
	marks := idsOnShards(t, lo+500)
	ins := func(n int) string { return fmt.Sprintf("INSERT INTO users (id, name) VALUES (%%[%d]d, 't%d')", n, n) }
	cases := []struct {
		name string
		sqls []string
	}{
		{"CommitCommit", []string{"BEGIN", ins(1), "COMMIT", "BEGIN", ins(2), "COMMIT"}},
		{"RollbackCommit", []string{"BEGIN", ins(1), "ROLLBACK", "BEGIN", ins(2), "COMMIT"}},
		{"CommitRollback", []string{"BEGIN", ins(1), "COMMIT", "BEGIN", ins(2), "ROLLBACK"}},
		{"SecondFails", []string{"BEGIN", ins(1), "COMMIT", "BEGIN", ins(2), "SELECT 1/0", "COMMIT"}},
		// The first transaction on both ids (two shards in TwoShards).
		{"FirstOnBoth", []string{"BEGIN", ins(1), ins(2), "COMMIT", "BEGIN", "UPDATE users SET name = name || 'u' WHERE id = %[2]d", "COMMIT"}},
		{"FirstOnBothSecondFails", []string{"BEGIN", ins(1), ins(2), "COMMIT", "BEGIN", "UPDATE users SET name = name || 'u' WHERE id = %[1]d", "SELECT 1/0", "COMMIT"}},
		{"SetCommitCommit", []string{"BEGIN", "SET TimeZone = 'Europe/Paris'", ins(1), "COMMIT", "BEGIN", ins(2), "SET TimeZone = 'Asia/Tokyo'", "COMMIT"}},
		{"SetCommitRollback", []string{"BEGIN", "SET TimeZone = 'Europe/Paris'", ins(1), "COMMIT", "BEGIN", ins(2), "SET TimeZone = 'Asia/Tokyo'", "ROLLBACK"}},
		{"SetRollbackCommit", []string{"BEGIN", ins(1), "SET TimeZone = 'Europe/Paris'", "ROLLBACK", "BEGIN", "SET TimeZone = 'Asia/Tokyo'", ins(2), "COMMIT"}},
		{"SetSecondFails", []string{"BEGIN", ins(1), "SET TimeZone = 'Europe/Paris'", "COMMIT", "BEGIN", ins(2), "SET TimeZone = 'Asia/Tokyo'", "SELECT 1/0", "COMMIT"}},
		// A statement between the COMMIT and the BEGIN runs in the
		// batch's implicit transaction, which the BEGIN turns into its
		// own: its write lives or dies with the second transaction.
		{"AfterCommit", []string{"BEGIN", ins(1), "COMMIT", ins(2)}},
		{"AfterRollbackFails", []string{"BEGIN", ins(1), "ROLLBACK", ins(2), "SELECT 1/0"}},
		{"BetweenThenRollback", []string{"BEGIN", ins(1), "COMMIT", ins(2), "BEGIN", "ROLLBACK"}},
		{"BetweenThenFails", []string{"BEGIN", ins(1), "COMMIT", ins(2), "BEGIN", "SELECT 1/0", "COMMIT"}},
		{"BetweenThenCommit", []string{"BEGIN", ins(1), "COMMIT", ins(2), "BEGIN", "UPDATE users SET name = name || 'u' WHERE id = %[2]d", "COMMIT"}},
		// An error before the COMMIT: the rest of the batch is skipped.
		{"ErrorThenCommitThenWrite", []string{"BEGIN", ins(1), "SELECT 1/0", "COMMIT", ins(2)}},
		// The COMMIT answered before the next statement (a Flush).
		{"CommitFlushWrite", []string{"BEGIN", ins(1), "COMMIT", "FLUSH", ins(2)}},
		{"CommitFlushBeginRollback", []string{"BEGIN", ins(1), "COMMIT", "FLUSH", "BEGIN", ins(2), "ROLLBACK"}},
		// COMMIT or ROLLBACK outside a transaction end the batch's
		// implicit one: a ROLLBACK undoes what ran before it.
		{"WriteThenRollback", []string{ins(1), "ROLLBACK"}},
		{"WriteThenCommit", []string{ins(1), "COMMIT"}},
		{"AfterCommitThenRollback", []string{"BEGIN", ins(1), "COMMIT", ins(2), "ROLLBACK"}},
		{"BadSetThenWrite", []string{"SET TimeZone = 'Nowhere/Bogus'", ins(2)}},
		// Statements before the first BEGIN end with its transaction.
		{"WriteBeginCommitRollback", []string{ins(1), "BEGIN", "UPDATE users SET name = name || 'u' WHERE id = %[1]d", "COMMIT", "ROLLBACK"}},
	}
	for _, tc := range cases {
		for _, where := range []struct {
			name string
			ids  [2]int64
		}{{"OneShard", same}, {"TwoShards", other}} {
			t.Run(tc.name+"/"+where.name, func(t *testing.T) {
				shardExec(t, "DELETE FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
				shardExec(t, "INSERT INTO users (id, name) VALUES ($1, 'mark'), ($2, 'mark')", marks[0], marks[1])
				dids := [2]int64{lo + 901, lo + 902}
				want := runBatchTx(t, direct, tc.sqls, dids, nil)
				got := runBatchTx(t, url, tc.sqls, where.ids, marks)
				if !slices.Equal(got.msgs, want.msgs) {
					t.Errorf("messages\nproxy:    %v\npostgres: %v", got.msgs, want.msgs)
				}
				if !slices.Equal(got.rows, want.rows) {
					t.Errorf("rows written: proxy %v, postgres %v", got.rows, want.rows)
				}
				for i, tz := range got.tz {
					if tz != want.tz[0] {
						t.Errorf("TimeZone on shard %d: proxy %q, postgres %q", i, tz, want.tz[0])
					}
				}
				// Other clients, with the default settings, never see the
				// session's SETs.
				for i := 0; i < 4; i++ {
					o := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
					for _, id := range marks {
						var tz string
						if err := o.QueryRow(context.Background(), fmt.Sprintf("SELECT current_setting('TimeZone') FROM users WHERE id = %d", id)).Scan(&tz); err != nil {
							t.Fatal(err)
						}
						if tz == "Europe/Paris" || tz == "Asia/Tokyo" {
							t.Errorf("another client read TimeZone %q on the shard of %d", tz, id)
						}
					}
					o.Close(context.Background())
				}
			})
		}
	}
}

type batchTxResult struct {
	msgs []string // M, M:tag, N:code, E:code, Z:status
	rows []string // names of the users written, sorted
	tz   []string // the session's TimeZone afterwards (per shard of tzIDs)
}

// runBatchTx sends sqls (formatted with ids) as one extended batch on a
// fresh session to dsn and reads the answer, then reads the rows written
// and the session's TimeZone: on the session's connection to the shard of
// each of tzIDs (through the proxy), or SHOW TimeZone (tzIDs nil).
func runBatchTx(t *testing.T, dsn string, sqls []string, ids [2]int64, tzIDs []int64) batchTxResult {
	t.Helper()
	_, fe := rvRaw(t, dsn)
	for _, s := range sqls {
		if s == "FLUSH" {
			fe.Send(&pgproto3.Flush{})
			continue
		}
		if strings.Contains(s, "%[") {
			s = fmt.Sprintf(s, ids[0], ids[1])
		}
		fe.Send(&pgproto3.Parse{Query: s})
		fe.Send(&pgproto3.Bind{})
		fe.Send(&pgproto3.Execute{})
	}
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var r batchTxResult
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.ParseComplete:
			r.msgs = append(r.msgs, "1")
		case *pgproto3.BindComplete:
			r.msgs = append(r.msgs, "2")
		case *pgproto3.CommandComplete:
			r.msgs = append(r.msgs, "C:"+string(m.CommandTag))
		case *pgproto3.NoticeResponse:
			r.msgs = append(r.msgs, "N:"+m.Code)
		case *pgproto3.ErrorResponse:
			r.msgs = append(r.msgs, "E:"+m.Code)
		case *pgproto3.ParameterStatus:
			continue // TimeZone's report: compared below
		case *pgproto3.ReadyForQuery:
			r.msgs = append(r.msgs, "Z:"+string(m.TxStatus))
		default:
			r.msgs = append(r.msgs, fmt.Sprintf("%T", m))
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	query := func(sql string) []string {
		fe.Send(&pgproto3.Query{String: sql})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		var out []string
		for {
			m, err := fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			switch m := m.(type) {
			case *pgproto3.DataRow:
				out = append(out, string(m.Values[0]))
			case *pgproto3.ErrorResponse:
				t.Fatalf("%s: %s %s", sql, m.Code, m.Message)
			case *pgproto3.ReadyForQuery:
				return out
			}
		}
	}
	if r.msgs[len(r.msgs)-1] != "Z:I" {
		query("ROLLBACK")
	}
	if tzIDs == nil {
		r.tz = query("SHOW TimeZone")
	}
	for _, id := range tzIDs {
		// A row on id's shard, read on the session's connection there.
		r.tz = append(r.tz, query(fmt.Sprintf("SELECT current_setting('TimeZone') FROM users WHERE id = %d", id))...)
	}
	r.rows = query(fmt.Sprintf("SELECT name FROM users WHERE id IN (%d, %d) ORDER BY name", ids[0], ids[1]))
	return r
}
