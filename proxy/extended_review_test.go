package proxy

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// pipelineErrors sends what send queues, then reads every result up to the
// last Sync: the server errors met, in order, and the rows read.
func pipelineErrors(t *testing.T, c *pgx.Conn, send func(p *pgconn.Pipeline)) (errs []*pgconn.PgError, rows []string) {
	t.Helper()
	ctx := context.Background()
	p := c.PgConn().StartPipeline(ctx)
	send(p)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		res, err := p.GetResults()
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe):
			errs = append(errs, pe)
			continue
		case err != nil:
			t.Fatal(err)
		}
		if res == nil {
			break
		}
		if rr, ok := res.(*pgconn.ResultReader); ok {
			r := rr.Read()
			if errors.As(r.Err, &pe) {
				errs = append(errs, pe)
			} else if r.Err != nil {
				t.Fatal(r.Err)
			}
			for _, row := range r.Rows {
				rows = append(rows, string(row[0]))
			}
		}
	}
	if err := p.Close(); err != nil && !errors.As(err, new(*pgconn.PgError)) {
		t.Fatal(err)
	}
	return errs, rows
}

// A statement described before its Bind (libpq's pipeline mode: Parse,
// Describe, then Bind/Execute, one Sync) is described on any shard; the
// Bind's key then names another: the batch moves there instead of being
// refused as one reaching two shards.
func TestDescribeThenBindOnAnotherShard(t *testing.T) {
	ks := []int64{72000, 0}
	_, ks[1] = keysOnTwoShards(t, 72000)
	if shardIndex(t, ks[0]) == 0 {
		ks[0], ks[1] = ks[1], ks[0] // the Bind's key off shard 0 (where the Describe goes)
	}
	cleanUsers(t, 72000, 72100)
	shardExec(t, "INSERT INTO users (id, name) VALUES ($1, 'far') ON CONFLICT DO NOTHING", ks[0])
	c := connect(t, pgx.QueryExecModeCacheStatement)
	errs, rows := pipelineErrors(t, c, func(p *pgconn.Pipeline) {
		p.SendPrepare("far", "SELECT name FROM users WHERE id = $1", nil)
		p.SendQueryPrepared("far", [][]byte{[]byte(strconv.FormatInt(ks[0], 10))}, nil, nil)
		p.SendPipelineSync()
	})
	if len(errs) != 0 || len(rows) != 1 || rows[0] != "far" {
		t.Fatalf("Parse, Describe, Bind on shard %d, Execute, Sync: errors %v, rows %q; want the row", shardIndex(t, ks[0]), errs, rows)
	}
}

// A statement the server refuses at its (lazy) Parse did not come into
// being, as on Postgres: the client may prepare the same name again (pgx
// names its statements by their text) and gets the server's error again,
// not 42P05.
func TestRefusedParseFreesTheName(t *testing.T) {
	c := connect(t, pgx.QueryExecModeCacheStatement)
	for round := range 2 {
		errs, _ := pipelineErrors(t, c, func(p *pgconn.Pipeline) {
			p.SendPrepare("bad", "SELECT nosuchcolumn FROM users WHERE id = $1", nil)
			p.SendPipelineSync()
		})
		if len(errs) != 1 || errs[0].Code != "42703" {
			t.Fatalf("round %d: %v; want 42703 (undefined column)", round, errs)
		}
	}
}

// DEALLOCATE ALL forgets protocol-level statements too (one name space in
// Postgres): pgx's DeallocateAll, then the same query again, prepares the
// same statement name again.
func TestDeallocateAllForgetsProtocolStatements(t *testing.T) {
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeCacheStatement)
	var n int
	const q = "SELECT count(*) FROM users WHERE id = $1"
	if err := c.QueryRow(ctx, q, 1).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := c.DeallocateAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, q, 1).Scan(&n); err != nil {
		t.Fatalf("the query after DeallocateAll: %v", err)
	}
	if _, err := c.Exec(ctx, "PREPARE dup AS SELECT 1"); err != nil {
		t.Fatal(err)
	}
	errs, _ := pipelineErrors(t, c, func(p *pgconn.Pipeline) {
		p.SendPrepare("dup", "SELECT 2", nil)
		p.SendPipelineSync()
	})
	if len(errs) != 1 || errs[0].Code != "42P05" {
		t.Fatalf("Parse of a name PREPARE took: %v; want 42P05", errs)
	}
}

// A BEGIN after an error in the same batch is skipped, as Postgres skips
// it: the batch ends with no transaction open, not a failed one.
func TestBeginAfterErrorInBatchOpensNothing(t *testing.T) {
	ctx := context.Background()
	cleanUsers(t, 72200, 72200)
	c := connect(t, pgx.QueryExecModeCacheStatement)
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES (72200, 'x')"); err != nil {
		t.Fatal(err)
	}
	errs, _ := pipelineErrors(t, c, func(p *pgconn.Pipeline) {
		p.SendQueryParams("INSERT INTO users (id, name) VALUES (72200, 'dup')", nil, nil, nil, nil)
		p.SendQueryParams("BEGIN", nil, nil, nil, nil)
		p.SendPipelineSync()
	})
	if len(errs) != 1 || errs[0].Code != "23505" {
		t.Fatalf("errors %v; want the duplicate key only", errs)
	}
	if st := c.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("transaction status after the batch: %c, want I", st)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = 72200").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the next statement: %d, %v", n, err)
	}
}

// A statement parsed in a batch whose server-side Parse is skipped, after
// an earlier statement of the batch failed, still exists (the client got
// its ParseComplete, and Postgres keeps it): only a Parse the server
// refused frees the name.
func TestSkippedParseKeepsTheStatement(t *testing.T) {
	_, fe := rvRaw(t, proxyURL)
	read := func() []string {
		var got []string
		for {
			m, err := fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			switch m := m.(type) {
			case *pgproto3.ErrorResponse:
				got = append(got, "E:"+m.Code)
			case *pgproto3.CommandComplete:
				got = append(got, "C")
			case *pgproto3.ReadyForQuery:
				return got
			}
		}
	}
	fe.Send(&pgproto3.Parse{Name: "fails", Query: "SELECT 1 / 0"})
	fe.Send(&pgproto3.Parse{Name: "later", Query: "SELECT 2"})
	fe.Send(&pgproto3.Bind{PreparedStatement: "fails"})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Bind{PreparedStatement: "later"})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 1 || got[0] != "E:22012" {
		t.Fatalf("first batch: %v, want the division by zero only", got)
	}
	fe.Send(&pgproto3.Bind{PreparedStatement: "later"})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 1 || got[0] != "C" {
		t.Fatalf("the statement parsed in the failed batch, executed after it: %v, want it to run", got)
	}
}
