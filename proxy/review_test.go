package proxy

// Regression tests from the review of the session loop (one per finding):
// each failed before its fix.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// rvSend sends msgs and reads responses until n ReadyForQuery (or until
// `stop` messages seen, if n == 0), returning a compact transcript.
func rvSend(t *testing.T, fe *pgproto3.Frontend, n int, msgs ...pgproto3.FrontendMessage) string {
	t.Helper()
	for _, m := range msgs {
		fe.Send(m)
	}
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	return rvRead(t, fe, n, 0)
}

func rvRead(t *testing.T, fe *pgproto3.Frontend, nZ, nMsgs int) string {
	t.Helper()
	var got []string
	z := 0
	for {
		if nZ > 0 && z >= nZ {
			break
		}
		if nMsgs > 0 && len(got) >= nMsgs {
			break
		}
		msg, err := fe.Receive()
		if err != nil {
			got = append(got, "ERR:"+err.Error())
			break
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			got = append(got, "E"+m.Code+"("+m.Severity+":"+m.Message+")")
		case *pgproto3.NoticeResponse:
			got = append(got, "N"+m.Code)
		case *pgproto3.ReadyForQuery:
			got = append(got, "Z"+string(m.TxStatus))
			z++
		case *pgproto3.ParseComplete:
			got = append(got, "1")
		case *pgproto3.BindComplete:
			got = append(got, "2")
		case *pgproto3.CloseComplete:
			got = append(got, "3")
		case *pgproto3.DataRow:
			var vs []string
			for _, v := range m.Values {
				vs = append(vs, string(v))
			}
			got = append(got, "D["+strings.Join(vs, ",")+"]")
		case *pgproto3.CommandComplete:
			got = append(got, "C("+string(m.CommandTag)+")")
		case *pgproto3.RowDescription:
			got = append(got, "T")
		case *pgproto3.NoData:
			got = append(got, "n")
		case *pgproto3.ParameterDescription:
			got = append(got, "t")
		case *pgproto3.ParameterStatus:
			got = append(got, "S")
		default:
			got = append(got, fmt.Sprintf("%T", m))
		}
	}
	return strings.Join(got, " ")
}

func keyOn(t *testing.T, shard int, from int64) int64 {
	for k := from; k < from+1000; k++ {
		if shardIndex(t, k) == shard {
			return k
		}
	}
	t.Fatal("no key")
	return 0
}

// 1. ROLLBACK TO SAVEPOINT after an error: the transaction recovers in
// Postgres; the proxy keeps txFailed (noteReady's TxInBlock case).
func TestReviewSavepointRecovery(t *testing.T) {
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	a := keyOn(t, 0, 920000)
	b := keyOn(t, 0, a+1)
	c.Exec(ctx, "DELETE FROM users WHERE id = $1", a)
	c.Exec(ctx, "DELETE FROM users WHERE id = $1", b)
	must := func(sql string) {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	must("BEGIN")
	must(fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'a')", a))
	must("SAVEPOINT s1")
	if _, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'a')", a)); pgCode(err) != "23505" {
		t.Fatalf("dup: %v", err)
	}
	must("ROLLBACK TO SAVEPOINT s1")
	if st := c.PgConn().TxStatus(); st != 'T' {
		t.Errorf("after ROLLBACK TO SAVEPOINT the client is told status %q, want 'T'", st)
	}
	if _, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'b')", b)); err != nil {
		t.Errorf("insert after ROLLBACK TO SAVEPOINT: %v", err)
	}
	tag, err := c.Exec(ctx, "COMMIT")
	t.Logf("COMMIT: %v %v", tag, err)
	t.Logf("rows for a: %v", onShards(t, "users", "id", a))
}

// 2. A lazy Parse that the server refuses (here: in a failed transaction)
// stays in the connection's prepared cache; the next client using the same
// text on that connection gets "prepared statement sgN does not exist".
func TestReviewLazyParseFailurePoisonsCache(t *testing.T) {
	const q = "SELECT name FROM users WHERE id = $1 /* review-2 */"
	a := keyOn(t, 0, 930000)
	_, fe := rawSession(t)
	t.Log(rvSend(t, fe, 1, &pgproto3.Parse{Name: "q1", Query: q}, &pgproto3.Sync{}))
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: fmt.Sprintf("DELETE FROM users WHERE id = %d", a)}))
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: "BEGIN"}))
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'x')", a)}))
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'x')", a)}))
	t.Log("bind in failed tx: ", rvSend(t, fe, 1, &pgproto3.Bind{PreparedStatement: "q1", Parameters: [][]byte{[]byte(fmt.Sprint(a))}}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: "ROLLBACK"}))

	// Another client, same text, same shard: LIFO pool gives it the same connection.
	_, fe2 := rawSession(t)
	got := rvSend(t, fe2, 1, &pgproto3.Parse{Query: q}, &pgproto3.Bind{Parameters: [][]byte{[]byte(fmt.Sprint(a))}}, &pgproto3.Execute{}, &pgproto3.Sync{})
	if strings.Contains(got, "E26000") {
		t.Errorf("other client poisoned: %s", got)
	} else {
		t.Logf("other client: %s", got)
	}
}

// 3. A client that disconnects after Flush in an unfinished extended batch:
// its connection goes back to the pool mid-transaction (tx status still 'I'),
// and the next client's simple Query sees and commits its INSERT.
func TestReviewDisconnectMidBatchCommitsWrite(t *testing.T) {
	ctx := context.Background()
	a := keyOn(t, 0, 940000)
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	c.Exec(ctx, "DELETE FROM users WHERE id = $1", a)

	hj, fe := rawSession(t)
	fe.Send(&pgproto3.Parse{Query: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'ghost')", a)})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Flush{})
	fe.Flush()
	t.Log("A: ", rvRead(t, fe, 0, 3))
	hj.Conn.Close() // the client goes away: Postgres would roll the INSERT back
	time.Sleep(200 * time.Millisecond)

	var name string
	err := c.QueryRow(ctx, fmt.Sprintf("SELECT name FROM users WHERE id = %d", a)).Scan(&name)
	t.Logf("B sees: %q %v", name, err)
	if n := onShards(t, "users", "id", a); n[0]+n[1] != 0 {
		t.Errorf("the disconnected client's uncommitted INSERT was committed: rows %v", n)
	}
}

// 3b. Same, with an error in the abandoned batch: the server waits for a
// Sync; the next client's Query is ignored and it hangs.
func TestReviewDisconnectAfterErrorHangsNext(t *testing.T) {
	hj, fe := rawSession(t)
	fe.Send(&pgproto3.Parse{Query: "SELECT 1/0"})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Flush{})
	fe.Flush()
	// ParseComplete, then the error (Postgres folds 1/0 at Bind).
	t.Log("A: ", rvRead(t, fe, 0, 2))
	hj.Conn.Close()
	time.Sleep(200 * time.Millisecond)
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Errorf("next client: %v", err)
	}
}

// 4. SET through the extended protocol is not recorded: it stays on the
// pooled connection and the next client inherits it.
func TestReviewExtendedSetLeaks(t *testing.T) {
	_, fe := rawSession(t)
	t.Log("A: ", rvSend(t, fe, 1, &pgproto3.Parse{Query: "SET statement_timeout TO '4321ms'"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	t.Log("A: ", rvSend(t, fe, 1, &pgproto3.Terminate{}))
	time.Sleep(100 * time.Millisecond)
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	var v string
	if err := c.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "0" {
		t.Errorf("another client inherits statement_timeout = %s", v)
	}
}

// 4b. Same with a multi-statement simple query.
func TestReviewMultiStatementSetLeaks(t *testing.T) {
	c1 := connect(t, pgx.QueryExecModeSimpleProtocol)
	if _, err := c1.Exec(context.Background(), "SET statement_timeout TO '4322ms'; SELECT 1"); err != nil {
		t.Fatal(err)
	}
	c1.Close(context.Background())
	time.Sleep(100 * time.Millisecond)
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	var v string
	if err := c.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "0" {
		t.Errorf("another client inherits statement_timeout = %s", v)
	}
}

// 5. A SET inside a transaction that rolls back is recorded anyway and
// replayed on the next connection.
func TestReviewRolledBackSetReplayed(t *testing.T) {
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	for _, q := range []string{"BEGIN", "SET statement_timeout TO '4323ms'", "ROLLBACK"} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	// Another client holds the connection c used, so c gets another one.
	o := connect(t, pgx.QueryExecModeSimpleProtocol)
	o.Exec(ctx, "BEGIN")
	o.Exec(ctx, "SELECT 1")
	var v string
	if err := c.QueryRow(ctx, "SHOW statement_timeout").Scan(&v); err != nil {
		t.Fatal(err)
	}
	o.Exec(ctx, "ROLLBACK")
	if v != "0" {
		t.Errorf("after ROLLBACK, statement_timeout = %s (Postgres: 0)", v)
	}
}

// 6. An error at Sync (deferred constraint) kills the session.
func TestReviewErrorAtSync(t *testing.T) {
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		d, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Exec(ctx, `CREATE OR REPLACE FUNCTION rv_fail() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN IF NEW.amount < 0 THEN RAISE EXCEPTION 'negative' USING ERRCODE = '23514'; END IF; RETURN NEW; END$$;
DROP TRIGGER IF EXISTS rv_deferred ON orders;
CREATE CONSTRAINT TRIGGER rv_deferred AFTER INSERT ON orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rv_fail();`)
		d.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
	_, fe := rawSession(t)
	got := rvSend(t, fe, 1, &pgproto3.Parse{Query: "INSERT INTO orders (id, user_id, amount) VALUES (950001, 1, -1)"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	t.Log("got: ", got)
	got2 := rvSend(t, fe, 1, &pgproto3.Query{String: "SELECT 1"})
	t.Log("then: ", got2)
	if !strings.Contains(got2, "D[1]") {
		t.Errorf("session did not survive an error at Sync: %s / %s", got, got2)
	}
}

// 7. BEGIN after a write in the same extended batch: in Postgres the write
// joins the explicit transaction (ROLLBACK undoes it); the proxy commits it
// at Sync.
func TestReviewBeginAfterWriteInBatch(t *testing.T) {
	a := keyOn(t, 0, 960000)
	_, fe := rawSession(t)
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: fmt.Sprintf("DELETE FROM users WHERE id = %d", a)}))
	t.Log(rvSend(t, fe, 1,
		&pgproto3.Parse{Query: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'rb')", a)}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "BEGIN"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: "ROLLBACK"}))
	if n := onShards(t, "users", "id", a); n[0]+n[1] != 0 {
		t.Errorf("rolled-back INSERT committed: %v", n)
	}
}

// 8. In a deferred transaction, a Describe takes a side connection; a lazy
// Parse error there, then Bind on the same shard replays BEGIN after the
// error (skipped by the server): the client is told 'I' and its transaction
// silently ends.
func TestReviewDescribeThenBindAfterError(t *testing.T) {
	a := keyOn(t, 0, 970000)
	_, fe := rawSession(t)
	t.Log(rvSend(t, fe, 1, &pgproto3.Query{String: "BEGIN"}))
	got := rvSend(t, fe, 1,
		&pgproto3.Parse{Name: "s8", Query: "SELECT nosuchcol FROM users WHERE id = $1"},
		&pgproto3.Describe{ObjectType: 'S', Name: "s8"},
		&pgproto3.Bind{PreparedStatement: "s8", Parameters: [][]byte{[]byte(fmt.Sprint(a))}},
		&pgproto3.Execute{}, &pgproto3.Sync{})
	t.Log(got)
	if !strings.HasSuffix(got, "ZE") {
		t.Errorf("want ZE (failed transaction), got %s", got)
	}
}

// 9. A portal bound before a BEGIN in the same batch keeps a link the proxy
// released at Sync; executing it later writes into another session's
// server connection.
func TestReviewPortalOnReleasedLink(t *testing.T) {
	a := keyOn(t, 0, 980000)
	_, fe := rawSession(t)
	t.Log("A: ", rvSend(t, fe, 1,
		&pgproto3.Parse{Query: "SELECT name FROM users WHERE id = $1"}, &pgproto3.Bind{DestinationPortal: "p", Parameters: [][]byte{[]byte(fmt.Sprint(a))}},
		&pgproto3.Parse{Name: "b", Query: "BEGIN"}, &pgproto3.Bind{PreparedStatement: "b"}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	// X takes the released connection, inside a transaction.
	ctx := context.Background()
	x := connect(t, pgx.QueryExecModeSimpleProtocol)
	x.Exec(ctx, "BEGIN")
	x.Exec(ctx, fmt.Sprintf("SELECT name FROM users WHERE id = %d", a))
	fe.Send(&pgproto3.Execute{Portal: "p"})
	fe.Send(&pgproto3.Sync{})
	fe.Flush()
	done := make(chan string, 1)
	go func() { done <- rvRead(t, fe, 1, 0) }()
	time.Sleep(300 * time.Millisecond)
	xctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var n int
	errX := x.QueryRow(xctx, fmt.Sprintf("SELECT count(*) FROM users WHERE id = %d", a)).Scan(&n)
	t.Logf("X's statement in its own transaction: n=%d err=%v", n, errX)
	select {
	case got := <-done:
		t.Logf("A got: %s", got)
	case <-time.After(3 * time.Second):
		t.Logf("A still blocked")
	}
	if errX != nil {
		t.Errorf("client X broken by client A's Execute: %v", errX)
	}
}

// 10. DEALLOCATE ALL / DISCARD ALL through the extended protocol reach the
// server: the connection's sgN statements vanish while its cache keeps them.
func TestReviewExtendedDeallocateAll(t *testing.T) {
	const q = "SELECT 1 /* review-10 */"
	_, fe := rawSession(t)
	t.Log("A: ", rvSend(t, fe, 1, &pgproto3.Parse{Query: q}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	t.Log("A: ", rvSend(t, fe, 1, &pgproto3.Parse{Query: "DEALLOCATE ALL"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	_, fe2 := rawSession(t)
	got := rvSend(t, fe2, 1, &pgproto3.Parse{Query: q}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	if strings.Contains(got, "E26000") {
		t.Errorf("other client: %s", got)
	}
}

// 11. An AnyShard statement first in a transaction pins it to shard 0.
func TestReviewSetLocalPinsShard0(t *testing.T) {
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	b := keyOn(t, 1, 990000)
	c.Exec(ctx, "DELETE FROM users WHERE id = $1", b)
	c.Exec(ctx, "BEGIN")
	if _, err := c.Exec(ctx, "SET LOCAL statement_timeout = '5s'"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'x')", b))
	c.Exec(ctx, "ROLLBACK")
	if err != nil {
		t.Errorf("BEGIN; SET LOCAL; INSERT (shard 1): %v", err)
	}
}

// 11. A Query in the middle of an extended batch ends the batch as the
// server would: its writes commit, and the batch's connection is free.
func TestReviewQueryEndsBatch(t *testing.T) {
	a, b := keysOnTwoShards(t, 88000)
	_, fe := rawSession(t)
	fe.Send(&pgproto3.Parse{Query: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'mid')", a)})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Query{String: fmt.Sprintf("SELECT count(*) FROM users WHERE id = %d", b)})
	fe.Flush()
	got := rvRead(t, fe, 1, 0)
	if !strings.Contains(got, "ZI") || strings.Contains(got, "E0A000") {
		t.Fatalf("got %s", got)
	}
	wantOnlyOn(t, "users", "id", a)
	// The session goes on normally.
	if got := rvSend(t, fe, 1, &pgproto3.Query{String: fmt.Sprintf("SELECT name FROM users WHERE id = %d", a)}); !strings.Contains(got, "ZI") || strings.Contains(got, "E") && strings.Contains(got, "ERROR") {
		t.Fatalf("after: %s", got)
	}
}
