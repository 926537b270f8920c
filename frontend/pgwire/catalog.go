package pgwire

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// catalog learns what routing needs from the shards' own catalogs: the
// column order of a table, for INSERT without a column list. Every shard
// holds the same schema, so one shard answers. Entries expire, so DDL run
// on the shards directly is seen within catalogTTL.
type catalog struct {
	conns ConnSource
	mu    sync.Mutex
	cols  map[catalogKey]catalogEntry
}

type catalogKey struct{ database, schema, table, searchPath string }

type catalogEntry struct {
	cols    []string
	fetched time.Time
}

const catalogTTL = time.Minute

func newCatalog(conns ConnSource) *catalog {
	return &catalog{conns: conns, cols: make(map[catalogKey]catalogEntry)}
}

// columns returns the table's columns in order. schema "" means the first
// match on search_path.
func (c *catalog) columns(ctx context.Context, shard *shardmap.Shard, searchPath []string, schema, table string) ([]string, error) {
	key := catalogKey{shard.Database, schema, table, strings.Join(searchPath, ",")}
	c.mu.Lock()
	e, ok := c.cols[key]
	c.mu.Unlock()
	if ok && time.Since(e.fetched) < catalogTTL {
		return e.cols, nil
	}
	rel := quoteIdent(table)
	if schema != "" {
		rel = quoteIdent(schema) + "." + rel
	}
	q := "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = " + quoteLiteral(rel) + "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
	if schema == "" {
		q = underSearchPath(q, searchPath)
	}
	cols, err := c.query(ctx, shard, q, rel)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cols[key] = catalogEntry{cols: cols, fetched: time.Now()}
	c.mu.Unlock()
	return cols, nil
}

// query runs a catalog query returning one text column.
func (c *catalog) query(ctx context.Context, shard *shardmap.Shard, q, rel string) ([]string, error) {
	conn, err := c.conns.Acquire(ctx, shard)
	if err != nil {
		return nil, err
	}
	defer c.conns.Release(conn)
	w, r := conn.Writer(), conn.Reader()
	w.WriteQuery(q)
	if err := w.Flush(); err != nil {
		conn.MarkBroken()
		return nil, err
	}
	var out []string
	var qerr error
	for {
		typ, body, err := r.ReadMessage()
		if err != nil {
			conn.MarkBroken()
			return nil, err
		}
		switch typ {
		case pgio.TypeDataRow:
			if len(body) >= 6 && binary.BigEndian.Uint16(body) == 1 {
				n := int32(binary.BigEndian.Uint32(body[2:]))
				if n >= 0 && int(n) <= len(body)-6 {
					out = append(out, string(body[6:6+n]))
				}
			}
		case pgio.TypeErrorResponse:
			f, derr := pgio.DecodeErrorFields(body)
			if derr != nil {
				qerr = derr
			} else {
				qerr = f.SQLError()
			}
		case pgio.TypeReadyForQuery:
			st, _ := pgio.DecodeReadyForQuery(body)
			conn.SetTxStatus(st)
			// A wrapped query that failed inside its BEGIN (an unknown
			// table) is rolled back: the connection goes back to its pool
			// rather than being closed there.
			if st == pgio.TxFailed && !rollbackCatalog(conn) {
				conn.MarkBroken()
			}
			if qerr != nil {
				return nil, qerr
			}
			if len(out) == 0 {
				return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %s does not exist", rel)
			}
			return out, nil
		}
	}
}

func quoteIdent(s string) string {
	out := `"`
	for _, r := range s {
		if r == '"' {
			out += `""`
		} else {
			out += string(r)
		}
	}
	return out + `"`
}

// insertColumns gives the router a table's column order when an INSERT
// names no columns: the shards' catalog decides where the key is.
func (s *session) insertColumns(stmt *parser.Statement) error {
	s.rs.Columns = nil
	if stmt.Kind != parser.KindInsert || stmt.Insert == nil || stmt.Insert.Columns != nil || len(stmt.Tables) == 0 || s.opts.catalog == nil {
		return nil
	}
	ks, ok := s.opts.Snapshot().Keyspace(shardmap.Postgres, s.c.Database)
	if !ok {
		return nil
	}
	ref := stmt.Tables[0]
	if _, temp := s.rs.Temp[ref.Name]; temp && (ref.Schema == "" || ref.Schema == "pg_temp") {
		return nil // a temporary table: routed to its shard, no key needed
	}
	cols, err := s.opts.catalog.columns(s.ctx, s.anyShard(ks), s.rs.SearchPath, ref.Schema, ref.Name)
	if err != nil {
		return err
	}
	s.rs.Columns = func(string, string) ([]string, bool) { return cols, true }
	return nil
}

// underSearchPath wraps a catalog query that names a table without its
// schema so that it resolves the name with the session's search_path (nil:
// the server's default), not whatever search_path the pooled connection it
// runs on was left with by another session.
func underSearchPath(q string, path []string) string {
	p := "DEFAULT"
	if len(path) > 0 {
		quoted := make([]string, len(path))
		for i, s := range path {
			quoted[i] = quoteIdent(s)
		}
		p = strings.Join(quoted, ", ")
	}
	return "BEGIN; SET LOCAL search_path TO " + p + "; " + q + "; COMMIT"
}

// rollbackCatalog ends the transaction a failed catalog query left open on
// conn, and reports whether conn is idle again.
func rollbackCatalog(conn ServerConn) bool {
	w, r := conn.Writer(), conn.Reader()
	w.WriteQuery("ROLLBACK")
	if w.Flush() != nil {
		return false
	}
	for {
		typ, body, err := r.ReadMessage()
		if err != nil {
			return false
		}
		if typ == pgio.TypeReadyForQuery {
			st, err := pgio.DecodeReadyForQuery(body)
			if err != nil {
				return false
			}
			conn.SetTxStatus(st)
			return st == pgio.TxIdle
		}
	}
}
