package mysqlwire

import (
	"strings"
	"sync"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// catalog caches the column order of tables, read from a shard's
// information_schema, for INSERT without a column list (the router must
// know which value is the sharding key). Every shard has the same tables;
// an entry holds until DDL passes through the endpoint.
type catalog struct {
	mu   sync.Mutex
	cols map[catalogKey][]string
}

type catalogKey struct{ keyspace, schema, table string }

func (c *catalog) get(k catalogKey) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cols, ok := c.cols[k]
	return cols, ok
}

func (c *catalog) put(k catalogKey, cols []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cols == nil {
		c.cols = map[catalogKey][]string{}
	}
	c.cols[k] = cols
}

func (c *catalog) forget() {
	c.mu.Lock()
	c.cols = nil
	c.mu.Unlock()
}

// insertColumns gives the router the column order of the table an INSERT
// without a column list writes to.
func (ss *session) insertColumns(stmt *parser.Statement, ks *shardmap.Keyspace) error {
	ss.rs.Columns = nil
	if stmt.Kind != parser.KindInsert || stmt.Insert == nil || stmt.Insert.Columns != nil || len(stmt.Tables) == 0 {
		return nil
	}
	ref := stmt.Tables[0]
	k := catalogKey{ss.rs.Keyspace, ref.Schema, ref.Name}
	cols, ok := ss.s.catalog.get(k)
	if !ok {
		var err error
		if cols, err = ss.readColumns(ks, ref); err != nil {
			return err
		}
		if len(cols) > 0 {
			ss.s.catalog.put(k, cols)
		}
	}
	if len(cols) > 0 {
		ss.rs.Columns = func(string, string) ([]string, bool) { return cols, true }
	}
	return nil
}

// readColumns asks a shard (the session's, if it holds a connection) for
// a table's columns in order. Column names are lower case, as the
// analyzer writes them.
func (ss *session) readColumns(ks *shardmap.Keyspace, ref parser.TableRef) ([]string, error) {
	schema := "DATABASE()"
	if ref.Schema != "" {
		schema = quote(ref.Schema)
	}
	q := "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " + schema +
		" AND TABLE_NAME = " + quote(ref.Name) + " ORDER BY ORDINAL_POSITION"
	held := ss.conn != nil
	if !held {
		if err := ss.acquireOnly(ss.anyShard(ks)); err != nil {
			return nil, err
		}
	}
	res, _, err := ss.conn.Exec(q, 10000)
	if !held {
		ss.settle()
	}
	if err != nil {
		return nil, sqlerr.From(err)
	}
	cols := make([]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		cols = append(cols, strings.ToLower(row[0].ToString()))
	}
	return cols, nil
}

// quote writes s as a string literal (the default sql_mode's escapes).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
