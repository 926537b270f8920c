package pgwire

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/shardmap"
)

// cannedConn is a server connection that answers from canned bytes and
// swallows what is sent to it.
type cannedConn struct {
	answers bytes.Buffer
	r       *pgio.Reader
	w       *pgio.Writer
	st      pgio.TxStatus
	att     any
}

func newCannedConn() *cannedConn {
	c := &cannedConn{st: pgio.TxIdle}
	c.r = pgio.NewReader(&c.answers, pgio.ReaderOptions{})
	c.w = pgio.NewWriter(io.Discard, pgio.WriterOptions{})
	return c
}

// answer queues a server's messages, as (type, body) pairs.
func (c *cannedConn) answer(msgs ...any) {
	w := pgio.NewWriter(&c.answers, pgio.WriterOptions{})
	for i := 0; i < len(msgs); i += 2 {
		w.WriteRaw(msgs[i].(byte), []byte(msgs[i+1].(string)))
	}
	w.Flush()
}

func (c *cannedConn) Reader() *pgio.Reader         { return c.r }
func (c *cannedConn) Writer() *pgio.Writer         { return c.w }
func (c *cannedConn) SetTxStatus(st pgio.TxStatus) { c.st = st }
func (c *cannedConn) TxStatus() pgio.TxStatus      { return c.st }
func (c *cannedConn) MarkBroken()                  {}
func (c *cannedConn) SetDeadline(time.Time) error  { return nil }
func (c *cannedConn) WaitReadable() error          { return nil }
func (c *cannedConn) Cancel(context.Context) error { return nil }
func (c *cannedConn) Attachment() any              { return c.att }
func (c *cannedConn) SetAttachment(a any)          { c.att = a }

// recordingSource hands out one connection and records, at each Release,
// the settings the front end says the connection has: what the next
// session to acquire it would go by.
type recordingSource struct {
	conn     *cannedConn
	acquired int
	applied  []string
}

func (r *recordingSource) Acquire(context.Context, *shardmap.Shard) (ServerConn, error) {
	r.acquired++
	return r.conn, nil
}

func (r *recordingSource) Release(c ServerConn) {
	r.applied = append(r.applied, stateOf(c).applied)
}

// cannedSession is a session on a one-shard keyspace "app" whose only
// server connection is src's.
func cannedSession(t *testing.T, src *recordingSource) *session {
	t.Helper()
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{{KeyRange: "-", Primary: shardmap.NodeSpec{Name: "a", Host: "127.0.0.1", Port: 1}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	opts := &SessionOptions{
		Snapshot: func() *shardmap.Snapshot { return snap },
		Analyzer: pgsql.NewAnalyzer(pgsql.Options{}),
		Conns:    src,
		Stats:    new(Stats),
	}
	client, server := loopbackPair(t)
	go io.Copy(io.Discard, client)
	return newSession(context.Background(), opts, &ClientConn{User: "app", Database: "app", conn: server, draining: make(chan struct{})})
}

func queryBody(sql string) []byte { return append([]byte(sql), 0) }

// TestSetRecordedBeforeTheConnectionGoesBack: an autocommit SET's effect
// on the connection's recorded settings is written before the connection
// goes back to the pool at ReadyForQuery. It was written after, when the
// next session could already hold the connection: that session read the
// old settings key (if it matched its own, it ran under this client's SET)
// while this one wrote over its. A multi-statement text's SETs are
// recorded before the release too (if the text failed, none).
func TestSetRecordedBeforeTheConnectionGoesBack(t *testing.T) {
	src := &recordingSource{conn: newCannedConn()}
	s := cannedSession(t, src)

	src.conn.answer(pgio.TypeCommandComplete, "SET\x00", pgio.TypeReadyForQuery, "I")
	if err := s.handle(pgio.TypeQuery, queryBody("SET search_path TO tenant_a")); err != nil {
		t.Fatal(err)
	}
	if len(src.applied) != 1 || src.applied[0] != s.settingsKey || s.settingsKey == "" {
		t.Fatalf("at release the connection's settings were %q; the session's are %q", src.applied, s.settingsKey)
	}

	src.conn.answer(pgio.TypeCommandComplete, "SET\x00", pgio.TypeCommandComplete, "SELECT 1\x00", pgio.TypeReadyForQuery, "I")
	if err := s.handle(pgio.TypeQuery, queryBody("SET statement_timeout = 5; SELECT 1")); err != nil {
		t.Fatal(err)
	}
	if len(src.applied) != 2 || src.applied[1] != s.settingsKey || !strings.Contains(s.settingsKey, "statement_timeout") {
		t.Fatalf("at release after a multi-statement SET the connection's settings were %q; the session's are %q", src.applied, s.settingsKey)
	}

	// A text that fails set nothing (its implicit transaction rolled
	// back): its connection has the session's settings still.
	key := s.settingsKey
	src.conn.answer(pgio.TypeCommandComplete, "SET\x00", pgio.TypeErrorResponse, "SERROR\x00C22012\x00Mdivision by zero\x00\x00", pgio.TypeReadyForQuery, "I")
	if err := s.handle(pgio.TypeQuery, queryBody("SET application_name = 'x'; SELECT 1/0")); err != nil {
		t.Fatal(err)
	}
	if len(src.applied) != 3 || src.applied[2] != key || s.settingsKey != key {
		t.Fatalf("at release after a failed multi-statement SET the connection's settings were %q, the session's %q (want %q)", src.applied, s.settingsKey, key)
	}
}

// TestUntrackedSetsStayUnknownThroughCommit: a multi-statement text with a
// SET leaves the connection's settings unknown even when the same text
// commits the transaction whose earlier SETs the commit records: the
// recording wrote the session's settings key over the mark, and the
// connection went back to the pool as if it held just those.
func TestUntrackedSetsStayUnknownThroughCommit(t *testing.T) {
	src := &recordingSource{conn: newCannedConn()}
	s := cannedSession(t, src)
	src.conn.answer(pgio.TypeCommandComplete, "BEGIN\x00", pgio.TypeReadyForQuery, "T",
		pgio.TypeCommandComplete, "SET\x00", pgio.TypeReadyForQuery, "T")
	for _, sql := range []string{"BEGIN", "SET search_path TO tenant_a"} {
		if err := s.handle(pgio.TypeQuery, queryBody(sql)); err != nil {
			t.Fatal(err)
		}
	}
	src.conn.answer(pgio.TypeCommandComplete, "SET\x00", pgio.TypeCommandComplete, "COMMIT\x00", pgio.TypeReadyForQuery, "I")
	if err := s.handle(pgio.TypeQuery, queryBody("SET work_mem = '1GB'; COMMIT")); err != nil {
		t.Fatal(err)
	}
	if len(src.applied) != 1 || src.applied[0] != appliedUnknown {
		t.Fatalf("at release the connection's settings were %q, want unknown", src.applied)
	}
}
