package router

import (
	"strings"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// tableClass is what the map says of a table a statement names.
type tableClass uint8

const (
	tableUnknown   tableClass = iota
	tableSharded              // a sharded table of the keyspace
	tableReference            // a copy on every shard
	tableCatalog              // pg_catalog / information_schema: the same on every shard
	tableTemp                 // a temporary table of the session: on its pinned shard
)

type resolved struct {
	class tableClass
	table *shardmap.Table // for tableSharded
	shard *shardmap.Shard // for tableTemp
	name  string          // as written, for messages
}

// resolve finds a table in the keyspace. Map names are unqualified (meaning
// schema public) or schema-qualified. An unqualified name in a statement is
// looked up along the session's search_path, after pg_catalog, as the
// server does.
func resolve(ks *shardmap.Keyspace, ref parser.TableRef, sess *Session) resolved {
	if sh, ok := sess.Temp[ref.Name]; ok && (ref.Schema == "" || ref.Schema == "pg_temp") {
		// pg_temp is searched first, even before pg_catalog.
		return resolved{class: tableTemp, name: written(ref), shard: sh}
	}
	if r, ok := sess.memoRes.get(ks, ref, sess); ok {
		return r
	}
	var r resolved
	if sess.Engine == shardmap.MySQL {
		r = resolveMySQL(ks, ref, sess, written(ref))
	} else {
		r = resolvePostgres(ks, ref, sess, written(ref))
	}
	sess.memoRes.put(ks, ref, sess, r)
	return r
}

// written is the table's name as the statement wrote it, for messages.
func written(ref parser.TableRef) string {
	if ref.Schema != "" {
		return ref.Schema + "." + ref.Name
	}
	return ref.Name
}

// resolvePostgres resolves a table that is not the session's temporary
// one as Postgres does.
func resolvePostgres(ks *shardmap.Keyspace, ref parser.TableRef, sess *Session, written string) resolved {
	if ref.Schema != "" {
		if isCatalogSchema(ref.Schema) {
			return resolved{class: tableCatalog, name: written}
		}
		return lookup(ks, ref.Schema, ref.Name, written)
	}
	if strings.HasPrefix(ref.Name, "pg_") {
		// pg_catalog is searched first, implicitly.
		return resolved{class: tableCatalog, name: written}
	}
	path := sess.SearchPath
	if path == nil {
		path = []string{sess.User, "public"}
	}
	for _, schema := range path {
		if isCatalogSchema(schema) {
			continue
		}
		if r := lookup(ks, schema, ref.Name, written); r.class != tableUnknown {
			return r
		}
	}
	return resolved{class: tableUnknown, name: written}
}

// resolveMemo holds the session's last table resolutions. A resolution
// depends only on the keyspace (immutable within a map version), the name
// as written, and its context (resolveContext; the session's temporary
// tables are looked up before it); finding one costs up to five map
// lookups, each hashing the name, on every statement.
type resolveMemo struct {
	ctx     resolveContext
	n, next int
	refs    [4]memoRef
}

type memoRef struct {
	schema, name string
	r            resolved
}

func (m *resolveMemo) get(ks *shardmap.Keyspace, ref parser.TableRef, sess *Session) (resolved, bool) {
	if !m.ctx.holds(ks, sess) {
		return resolved{}, false
	}
	for i := range m.n {
		if e := &m.refs[i]; e.name == ref.Name && e.schema == ref.Schema {
			return e.r, true
		}
	}
	return resolved{}, false
}

func (m *resolveMemo) put(ks *shardmap.Keyspace, ref parser.TableRef, sess *Session, r resolved) {
	if !m.ctx.holds(ks, sess) {
		if !m.ctx.set(ks, sess) {
			return
		}
		m.n, m.next = 0, 0
	}
	m.refs[m.next] = memoRef{schema: ref.Schema, name: ref.Name, r: r}
	m.next = (m.next + 1) % len(m.refs)
	m.n = min(m.n+1, len(m.refs))
}

// resolveContext is what resolving a table name depends on besides the
// name: the keyspace, the user and search_path on Postgres, the session's
// database on MySQL.
type resolveContext struct {
	ks          *shardmap.Keyspace // nil: none
	user        string
	database    string    // Session.Keyspace: MySQL's qualifier check reads it
	defaultPath bool      // SearchPath was nil: "$user", public
	path        [4]string // a copy: the session may change its own
	pathLen     int
}

// holds reports whether the context is ks's and the session's.
func (c *resolveContext) holds(ks *shardmap.Keyspace, sess *Session) bool {
	if c.ks != ks || c.user != sess.User || c.database != sess.Keyspace || c.defaultPath != (sess.SearchPath == nil) || c.pathLen != len(sess.SearchPath) {
		return false
	}
	for i, s := range sess.SearchPath {
		if c.path[i] != s {
			return false
		}
	}
	return true
}

// set makes the context ks's and the session's; false (and none) when
// its search_path is longer than a context keeps.
func (c *resolveContext) set(ks *shardmap.Keyspace, sess *Session) bool {
	if len(sess.SearchPath) > len(c.path) {
		c.ks = nil
		return false
	}
	c.ks, c.user, c.database = ks, sess.User, sess.Keyspace
	c.defaultPath, c.pathLen = sess.SearchPath == nil, len(sess.SearchPath)
	copy(c.path[:], sess.SearchPath)
	return true
}

// resolveMySQL resolves a table as MySQL does: a qualifier is a database,
// the session's (its keyspace) or a system one; unqualified names are in
// the session's database.
func resolveMySQL(ks *shardmap.Keyspace, ref parser.TableRef, sess *Session, written string) resolved {
	switch strings.ToLower(ref.Schema) {
	case "":
	case "information_schema", "mysql", "performance_schema", "sys":
		return resolved{class: tableCatalog, name: written}
	default:
		if ref.Schema != sess.Keyspace && ref.Schema != ks.Name() {
			return resolved{class: tableUnknown, name: written}
		}
	}
	return lookup(ks, "public", ref.Name, written)
}

func isCatalogSchema(s string) bool {
	return s == "pg_catalog" || s == "information_schema"
}

func lookup(ks *shardmap.Keyspace, schema, name, written string) resolved {
	// "schema.name", then (for public) the bare name; the key is built on
	// the stack so that the lookup does not allocate.
	var buf [128]byte
	key := append(append(append(buf[:0], schema...), '.'), name...)
	if r, ok := lookupKey(ks, key, written); ok {
		return r
	}
	if schema == "public" {
		if r, ok := lookupKey(ks, key[len(schema)+1:], written); ok {
			return r
		}
	}
	return resolved{class: tableUnknown, name: written}
}

func lookupKey(ks *shardmap.Keyspace, key []byte, written string) (resolved, bool) {
	if t, ok := ks.TableKey(key); ok {
		return resolved{class: tableSharded, table: t, name: written}, true
	}
	if ks.IsReferenceKey(key) {
		return resolved{class: tableReference, name: written}, true
	}
	return resolved{}, false
}

// subQueryReadsSharded reports whether a sub-query (or CTE body) of stmt
// reads a sharded table.
func subQueryReadsSharded(ks *shardmap.Keyspace, stmt *parser.Statement, sess *Session) bool {
	for _, ref := range stmt.SubTables {
		if c := resolve(ks, ref, sess).class; c == tableSharded || c == tableUnknown {
			return true
		}
	}
	return false
}
