package proxy

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/config"
)

// execPrepared runs prepared statement name as libpq's PQexecPrepared
// does (Bind, Describe portal, Execute, Sync) and returns every message
// of the answer up to ReadyForQuery.
func execPrepared(t *testing.T, c *pgconn.PgConn, name string, formats []int16, params ...string) []pgproto3.BackendMessage {
	t.Helper()
	var ps [][]byte
	for _, p := range params {
		ps = append(ps, []byte(p))
	}
	fe := c.Frontend()
	fe.Send(&pgproto3.Bind{PreparedStatement: name, Parameters: ps, ResultFormatCodes: formats})
	fe.Send(&pgproto3.Describe{ObjectType: 'P'})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var out []pgproto3.BackendMessage
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		// Receive reuses its messages: keep a copy of what is compared.
		switch m := m.(type) {
		case *pgproto3.RowDescription:
			fields := append([]pgproto3.FieldDescription(nil), m.Fields...)
			for i := range fields {
				fields[i].Name = append([]byte(nil), fields[i].Name...)
			}
			out = append(out, &pgproto3.RowDescription{Fields: fields})
		case *pgproto3.ErrorResponse:
			e := *m
			out = append(out, &e)
		case *pgproto3.ReadyForQuery:
			out = append(out, &pgproto3.ReadyForQuery{TxStatus: m.TxStatus})
			return out
		default:
			out = append(out, m)
		}
	}
}

// rowDescOf returns the RowDescription of an answer (nil if none).
func rowDescOf(msgs []pgproto3.BackendMessage) *pgproto3.RowDescription {
	for _, m := range msgs {
		if rd, ok := m.(*pgproto3.RowDescription); ok {
			return rd
		}
	}
	return nil
}

func connectRaw(t *testing.T, url string) *pgconn.PgConn {
	t.Helper()
	c, err := pgconn.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func prepareRaw(t *testing.T, c *pgconn.PgConn, name, sql string) {
	t.Helper()
	if _, err := c.Prepare(context.Background(), name, sql, nil); err != nil {
		t.Fatal(err)
	}
}

// parseOnly prepares a statement without describing it (Parse, Sync), as
// libpq's PQprepare does.
func parseOnly(t *testing.T, c *pgconn.PgConn, name, sql string) {
	t.Helper()
	fe := c.Frontend()
	fe.Send(&pgproto3.Parse{Name: name, Query: sql})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			t.Fatalf("Parse %q: %s", sql, m.Message)
		case *pgproto3.ReadyForQuery:
			return
		}
	}
}

func execSimple(t *testing.T, c *pgconn.PgConn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql).ReadAll(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestDescribeAnsweredByProxy: a portal's Describe, as libpq sends it with
// every execution of a prepared statement, is answered by the proxy from
// the description the server gave earlier on that connection, and the
// answer is the server's own, field for field, with the Bind's formats.
func TestDescribeAnsweredByProxy(t *testing.T) {
	// One server connection per shard: every execution reuses what the
	// earlier ones learned.
	p, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
	answered := func() uint64 { return p.SessionStats().DescribesAnswered.Load() }
	const lo = 1_872_000
	cleanUsers(t, lo, lo+999)
	ids := idsOnShards(t, lo)
	for _, id := range ids {
		shardExec(t, "INSERT INTO users (id, name) VALUES ($1, 'describe') ON CONFLICT DO NOTHING", id)
	}
	const sel = "SELECT id, name, balance, 1 AS one FROM users WHERE id = $1"
	const upd = "UPDATE users SET name = name WHERE id = $1"

	c := connectRaw(t, url)
	prepareRaw(t, c, "sel", sel)
	prepareRaw(t, c, "upd", upd)
	// The same statements straight on each shard, for the server's own
	// answers.
	direct := make([]*pgconn.PgConn, len(cluster.Shards))
	for i, sh := range cluster.Shards {
		direct[i] = connectRaw(t, sh.Primary.DSN("app", "app", "app"))
		prepareRaw(t, direct[i], "sel", sel)
		prepareRaw(t, direct[i], "upd", upd)
	}

	t.Run("RowDescription", func(t *testing.T) {
		before := answered()
		runs := 0
		for round := 0; round < 3; round++ {
			for _, formats := range [][]int16{nil, {0}, {1}} {
				for _, id := range ids {
					key := strconv.FormatInt(id, 10)
					got := execPrepared(t, c, "sel", formats, key)
					want := execPrepared(t, direct[shardIndex(t, id)], "sel", formats, key)
					runs++
					if !reflect.DeepEqual(rowDescOf(got), rowDescOf(want)) {
						t.Fatalf("formats %v, id %d: the proxy described the portal as\n%+v\nPostgres as\n%+v", formats, id, rowDescOf(got), rowDescOf(want))
					}
					if len(got) != len(want) {
						t.Fatalf("formats %v, id %d: %d messages through the proxy, %d from Postgres: %#v", formats, id, len(got), len(want), got)
					}
				}
			}
		}
		// The first execution on each shard's connection may ask the
		// server (the Prepare described the statement on one of them).
		if n := answered() - before; n < uint64(runs-len(ids)) {
			t.Errorf("the proxy answered %d of %d portal Describes itself, want at least %d", n, runs, runs-len(ids))
		}
	})

	t.Run("NoData", func(t *testing.T) {
		before := answered()
		for round := 0; round < 3; round++ {
			got := execPrepared(t, c, "upd", nil, strconv.FormatInt(ids[0], 10))
			if _, ok := got[1].(*pgproto3.NoData); !ok {
				t.Fatalf("round %d: %#v, want BindComplete, NoData, CommandComplete, ReadyForQuery", round, got)
			}
		}
		if n := answered() - before; n < 2 {
			t.Errorf("the proxy answered %d of 3 NoData Describes itself, want at least 2", n)
		}
	})

	t.Run("AfterFailedBind", func(t *testing.T) {
		// A Bind the server refuses: Postgres answers nothing more until
		// Sync, so the proxy's own answer to the Describe must not come.
		prepareRaw(t, c, "cast", "SELECT $1::int AS a")
		execPrepared(t, c, "cast", nil, "7")
		before := answered()
		got := execPrepared(t, c, "cast", nil, "not a number")
		if len(got) != 2 {
			t.Fatalf("%#v, want ErrorResponse, ReadyForQuery", got)
		}
		if e, ok := got[0].(*pgproto3.ErrorResponse); !ok || e.Code != "22P02" {
			t.Fatalf("%#v, want ErrorResponse 22P02 first", got[0])
		}
		if got := execPrepared(t, c, "cast", nil, "8"); rowDescOf(got) == nil || len(got) != 5 {
			t.Fatalf("after the failed Bind: %#v, want BindComplete, RowDescription, DataRow, CommandComplete, ReadyForQuery", got)
		}
		// The failed one was on the proxy's path (answered, then
		// dropped), as the next one was.
		if n := answered() - before; n != 1 {
			t.Errorf("the proxy answered %d Describes of the two executions, want 1 (its answer to the failed one dropped)", n)
		}
	})

	t.Run("DDLThroughTheProxy", func(t *testing.T) {
		key := strconv.FormatInt(ids[0], 10)
		execPrepared(t, c, "sel", nil, key)
		before := answered()
		execPrepared(t, c, "sel", nil, key)
		if answered() != before+1 {
			t.Fatal("a repeated Describe was not answered by the proxy")
		}
		// DDL through any client: every description learned before it is
		// asked again.
		o := connectRaw(t, url)
		table := fmt.Sprintf("describe_probe_%d", lo)
		execSimple(t, o, "CREATE TABLE "+table+" (a int)")
		execSimple(t, o, "DROP TABLE "+table)
		before = answered()
		execPrepared(t, c, "sel", nil, key)
		if answered() != before {
			t.Error("the first Describe after DDL was answered from the description learned before it")
		}
		execPrepared(t, c, "sel", nil, key)
		if answered() != before+1 {
			t.Error("the Describe after that was not answered by the proxy again")
		}
	})

	t.Run("OtherSettings", func(t *testing.T) {
		// Another client with other session settings takes the same
		// server connection (one per shard): the description learned
		// under the first client's settings is not used under its.
		key := strconv.FormatInt(ids[0], 10)
		execPrepared(t, c, "sel", nil, key)
		o := connectRaw(t, url)
		execSimple(t, o, "SET search_path = public, pg_catalog")
		parseOnly(t, o, "sel", sel)
		before := answered()
		execPrepared(t, o, "sel", nil, key)
		if answered() != before {
			t.Error("a client with another search_path got the description learned under the first client's settings")
		}
		execPrepared(t, o, "sel", nil, key)
		if answered() != before+1 {
			t.Error("its repeated Describe was not answered by the proxy")
		}
	})
}
