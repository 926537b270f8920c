package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"
)

// The Go client does what pgbench does — a fixed number of clients, each
// on its own connections, running transactions back to back for a fixed
// time — for the case pgbench cannot run: a client that commits a
// two-shard transaction itself, on two direct connections. It speaks the
// protocol as pgbench's -M modes do: "simple" sends each statement as a
// Query with its values in the text; "extended" sends Parse (unnamed),
// Bind, Describe, Execute, Sync with the values as text parameters.
//
// Statements run with context.Background(): a transaction that started
// runs to its end, as pgbench's do when the time is up, so nothing is left
// prepared and the rows counted are the transactions counted.

const (
	insertUser     = "INSERT INTO users (id, name, balance) VALUES ($1, 'bench', 100)"
	insertDecision = "INSERT INTO bench_2pc_decision (gid, decision, owner) VALUES ($1, 'commit', $2) ON CONFLICT (gid) DO NOTHING"
)

// conn is a connection speaking one of pgbench's query modes.
type conn struct {
	pg       *pgconn.PgConn
	extended bool
}

// reply waits for the answer to what was sent.
type reply func() error

// send sends one statement; its $n parameters take args, in the text for
// the simple protocol.
func (c conn) send(sql string, args ...string) reply {
	if c.extended {
		rr := c.pg.ExecParams(context.Background(), sql, params(args), nil, nil, nil)
		return func() error { return rr.Read().Err }
	}
	mrr := c.pg.Exec(context.Background(), inline(sql, args))
	return func() error { return readAll(mrr) }
}

// sendBegin sends BEGIN and one statement in one round trip, as shardgate
// sends them to a shard joining a transaction.
func (c conn) sendBegin(sql string, args ...string) reply {
	if c.extended {
		b := &pgconn.Batch{}
		b.ExecParams("BEGIN", nil, nil, nil, nil)
		b.ExecParams(sql, params(args), nil, nil, nil)
		mrr := c.pg.ExecBatch(context.Background(), b)
		return func() error { return readAll(mrr) }
	}
	mrr := c.pg.Exec(context.Background(), "BEGIN; "+inline(sql, args))
	return func() error { return readAll(mrr) }
}

func (c conn) exec(sql string, args ...string) error { return c.send(sql, args...)() }

func readAll(mrr *pgconn.MultiResultReader) error {
	res, err := mrr.ReadAll()
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return err
}

func params(args []string) [][]byte {
	if len(args) == 0 {
		return nil
	}
	p := make([][]byte, len(args))
	for i, a := range args {
		p[i] = []byte(a)
	}
	return p
}

// inline puts args into sql's $1…$9 as literals: digits as they are,
// anything else quoted (the benchmark's values have no quotes).
func inline(sql string, args []string) string {
	for i := len(args) - 1; i >= 0; i-- {
		v := args[i]
		if strings.Trim(v, "0123456789") != "" {
			v = "'" + v + "'"
		}
		sql = strings.ReplaceAll(sql, "$"+strconv.Itoa(i+1), v)
	}
	return sql
}

// session is one client's connections and its transaction.
type session interface {
	// tx runs the client's n-th transaction (n from 1).
	tx(n int64) error
	close()
}

// script runs pgbenchScript's transaction on one connection: BEGIN, two
// INSERTs, COMMIT, each its own round trip.
type script struct {
	c      conn
	client int
	layout layout
}

func (s *script) tx(n int64) error {
	a, b := s.layout.keys(s.client, n)
	for _, st := range []struct {
		sql string
		arg []string
	}{{"BEGIN", nil}, {insertUser, []string{itoa(a)}}, {insertUser, []string{itoa(b)}}, {"COMMIT", nil}} {
		if err := s.c.exec(st.sql, st.arg...); err != nil {
			return fmt.Errorf("%s: %w", st.sql, err)
		}
	}
	return nil
}

func (s *script) close() { s.c.pg.Close(context.Background()) }

// twoPhase writes one row on each shard's server and commits both in two
// phases, with the round trips shardgate makes to the servers: BEGIN and
// the INSERT together on shard 0, then on shard 1; PREPARE TRANSACTION on
// both at once; with decision, the decision row on shard 0 (autocommit,
// its own connection); COMMIT PREPARED on both at once.
type twoPhase struct {
	shards [2]conn
	log    *conn // the decision log's connection; nil: no decision row
	client int
	owner  string
}

func (t *twoPhase) tx(n int64) error {
	a, b := twoShards.keys(t.client, n)
	gid := fmt.Sprintf("bench:%d:%d", t.client, n)
	for i, k := range []int64{a, b} {
		if err := t.shards[i].sendBegin(insertUser, itoa(k))(); err != nil {
			return fmt.Errorf("shard %d: BEGIN; INSERT: %w", i, err)
		}
	}
	if err := both(t.shards, func(i int) string { return fmt.Sprintf("PREPARE TRANSACTION '%s:%d'", gid, i) }); err != nil {
		return err
	}
	if t.log != nil {
		if err := t.log.exec(insertDecision, gid, t.owner); err != nil {
			return fmt.Errorf("decision: %w", err)
		}
	}
	if err := both(t.shards, func(i int) string { return fmt.Sprintf("COMMIT PREPARED '%s:%d'", gid, i) }); err != nil {
		return err
	}
	return nil
}

// both sends a statement to each shard, then reads both answers: the two
// servers work at the same time.
func both(shards [2]conn, sql func(i int) string) error {
	var replies [2]reply
	for i, c := range shards {
		replies[i] = c.send(sql(i))
	}
	var errs []error
	for i, r := range replies {
		if err := r(); err != nil {
			errs = append(errs, fmt.Errorf("shard %d: %s: %w", i, sql(i), err))
		}
	}
	return errors.Join(errs...)
}

func (t *twoPhase) close() {
	for _, c := range t.shards {
		if c.pg != nil {
			c.pg.Close(context.Background())
		}
	}
	if t.log != nil {
		t.log.pg.Close(context.Background())
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// goRun is what a run of the Go client measured, as pgbench reports it.
type goRun struct {
	txs       int64
	tps       float64
	latencyMs float64 // pgbench's formula without -L or -P: run time × clients ÷ transactions
}

// runClients connects clients sessions, then runs transactions on each for
// d, and counts the transactions that completed. Connecting is not timed
// (pgbench's tps also leaves it out).
func runClients(ctx context.Context, clients int, d time.Duration, connect func(ctx context.Context, client int) (session, error)) (goRun, error) {
	sessions := make([]session, clients)
	defer func() {
		for _, s := range sessions {
			if s != nil {
				s.close()
			}
		}
	}()
	for i := range sessions {
		s, err := connect(ctx, i)
		if err != nil {
			return goRun{}, fmt.Errorf("client %d: connect: %w", i, err)
		}
		sessions[i] = s
	}
	var txs atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	g, gctx := errgroup.WithContext(ctx)
	for i, s := range sessions {
		g.Go(func() error {
			for n := int64(1); gctx.Err() == nil && time.Now().Before(deadline); n++ {
				if err := s.tx(n); err != nil {
					return fmt.Errorf("client %d, transaction %d: %w", i, n, err)
				}
				txs.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return goRun{}, err
	}
	if err := ctx.Err(); err != nil {
		return goRun{}, err
	}
	elapsed := time.Since(start).Seconds()
	r := goRun{txs: txs.Load()}
	if r.txs > 0 {
		r.tps = float64(r.txs) / elapsed
		r.latencyMs = 1000 * elapsed * float64(clients) / float64(r.txs)
	}
	return r, nil
}

// connectSession opens the connections of one Go client for rw.
func connectSession(ctx context.Context, rw row, client int, extended bool, dsn dsns) (session, error) {
	open := func(dsn string) (conn, error) {
		pg, err := pgconn.Connect(ctx, dsn)
		return conn{pg: pg, extended: extended}, err
	}
	switch rw.route {
	case toShard0, toShardgate:
		target := dsn.shards[0]
		if rw.route == toShardgate {
			target = dsn.shardgate
		}
		c, err := open(target)
		if err != nil {
			return nil, err
		}
		return &script{c: c, client: client, layout: rw.layout}, nil
	}
	t := &twoPhase{client: client, owner: fmt.Sprintf("bench-client-%d", client)}
	for i := range t.shards {
		c, err := open(dsn.shards[i])
		if err != nil {
			t.close()
			return nil, err
		}
		t.shards[i] = c
	}
	if rw.decision {
		c, err := open(dsn.shards[0])
		if err != nil {
			t.close()
			return nil, err
		}
		t.log = &c
	}
	return t, nil
}

// dsns are where the Go client connects.
type dsns struct {
	shards    [2]string
	shardgate string
}
