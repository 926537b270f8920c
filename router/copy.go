package router

import (
	"fmt"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// CopyTarget is where the rows of one COPY … FROM STDIN go. The session
// reads the rows itself; for each it takes the field of the sharding
// column (field Key of Columns) and asks Shard. A COPY with a shard hint,
// or into a temporary table of the session, goes to one shard whatever
// its rows hold (Fixed).
type CopyTarget struct {
	Keyspace *shardmap.Keyspace
	// Table is the sharded table; nil when Fixed is set.
	Table *shardmap.Table
	// Name is the table as written, for messages.
	Name string
	// Columns is the number of fields of a row; Key is the index of the
	// sharding column among them (-1 when Fixed is set).
	Columns int
	Key     int
	// Fixed is the one shard every row goes to (a hint, a temporary table).
	Fixed *shardmap.Shard
	Why   Reason
}

// RouteCopy decides how the rows of a COPY … FROM STDIN are routed. A
// column list absent from the statement comes from sess.Columns (the
// table's columns without the generated ones, in order). It is pure, like
// Route.
func RouteCopy(stmt *parser.Statement, sess *Session, snap *shardmap.Snapshot) (CopyTarget, error) {
	info := stmt.Copy
	if stmt.Kind != parser.KindCopy || info == nil || !info.From || len(stmt.Parts) > 0 {
		return CopyTarget{}, sqlerr.New(sqlerr.InternalError, "RouteCopy needs a single COPY … FROM statement")
	}
	ks, ok := snap.Keyspace(sess.Engine, sess.Keyspace)
	if !ok {
		return CopyTarget{}, sqlerr.New("3D000", "database %q does not exist", sess.Keyspace)
	}
	if info.Endpoint != parser.CopyStdio {
		return CopyTarget{}, sqlerr.New(sqlerr.FeatureNotSupported, "COPY … FROM a %s is not supported through shardgate", info.Endpoint).
			WithHint("The %s would be read by one shard's server, not where the client runs, and its rows could not be routed. Send the rows with COPY … FROM STDIN (psql: \\copy).", info.Endpoint)
	}
	if stmt.Hint.Shard != "" {
		p, err := routeHint(ks, stmt, sess, nil)
		if err != nil {
			return CopyTarget{}, err
		}
		s := p.(Single)
		return CopyTarget{Keyspace: ks, Name: tableName(info.Table), Key: -1, Fixed: s.Shard, Why: s.Why}, nil
	}
	r := resolve(ks, info.Table, sess)
	switch r.class {
	case tableUnknown:
		return CopyTarget{}, sqlerr.New(sqlerr.UndefinedTable, "relation %q is not in the shard map of database %q", r.name, ks.Name()).
			WithHint("Add it to the keyspace's tables (with its sharding column) or reference_tables.")
	case tableReference:
		return CopyTarget{}, sqlerr.New(sqlerr.FeatureNotSupported, "COPY … FROM into the reference table %s is not supported yet", r.name).
			WithHint("A reference table has a copy on every shard; writing all copies atomically needs two-phase commit. Load it on every shard directly for now.")
	case tableCatalog:
		return CopyTarget{}, sqlerr.New(sqlerr.FeatureNotSupported, "COPY … FROM into the system table %s is not supported through shardgate", r.name)
	case tableTemp:
		p, err := inTxSingle(Single{Keyspace: ks, Shard: r.shard, Why: Reason{Text: "temporary objects of the session"}}, sess, nil)
		if err != nil {
			return CopyTarget{}, err
		}
		s := p.(Single)
		return CopyTarget{Keyspace: ks, Name: r.name, Key: -1, Fixed: s.Shard, Why: s.Why}, nil
	}
	t := r.table
	cols := info.Columns
	if cols == nil {
		if sess.Columns != nil {
			cols, _ = sess.Columns(info.Table.Schema, info.Table.Name)
		}
		if cols == nil {
			return CopyTarget{}, sqlerr.New(sqlerr.FeatureNotSupported, "COPY into %s without a column list: the table's column order is not known", r.name).
				WithHint("%s", fmt.Sprintf("Name the columns: COPY %s (%s, …) FROM STDIN", r.name, t.Column()))
		}
	}
	key := -1
	for i, c := range cols {
		if c == t.Column() {
			key = i
			break
		}
	}
	if key < 0 {
		return CopyTarget{}, sqlerr.New(sqlerr.NotNullViolation, "COPY into %s must give the sharding column %s", r.name, t.Column()).
			WithHint("The proxy routes each row by its %s; add it to the column list.", t.Column())
	}
	return CopyTarget{Keyspace: ks, Table: t, Name: r.name, Columns: len(cols), Key: key,
		Why: Reason{Text: "copy rows by " + r.name + "." + t.Column()}}, nil
}

func tableName(ref parser.TableRef) string {
	if ref.Schema != "" {
		return ref.Schema + "." + ref.Name
	}
	return ref.Name
}

// Shard returns the shard of a row whose sharding-column field is v: a
// text or CSV field as shardmap.TextBytes (it is read like a quoted
// literal assigned to the column, as the column type's input function
// reads it), a binary field as shardmap.Binary of KeyBinaryType, NULL as
// shardmap.Null. Errors are the coercion's (*sqlerr.Error: 22P02, 22003,
// 23502, …). It does not allocate.
func (t *CopyTarget) Shard(v shardmap.Value) (*shardmap.Shard, error) {
	if t.Fixed != nil {
		return t.Fixed, nil
	}
	return t.Table.Lookup(v, shardmap.Assign)
}

// KeyBinaryType is the binary form of the sharding column's values in
// COPY … (FORMAT binary): the column's own type's send format.
func (t *CopyTarget) KeyBinaryType() shardmap.BinaryType {
	if t.Table == nil {
		return shardmap.BinaryUnknown
	}
	switch t.Table.Type() {
	case shardmap.TypeSmallint:
		return shardmap.BinaryInt2
	case shardmap.TypeInt:
		return shardmap.BinaryInt4
	case shardmap.TypeBigint:
		return shardmap.BinaryInt8
	case shardmap.TypeText:
		return shardmap.BinaryText
	case shardmap.TypeUUID:
		return shardmap.BinaryUUID
	}
	return shardmap.BinaryUnknown
}

func (t CopyTarget) String() string {
	if t.Fixed != nil {
		return fmt.Sprintf("Copy{table=%s shard=%s why=%q}", t.Name, t.Fixed.Name, t.Why.String())
	}
	return fmt.Sprintf("Copy{table=%s key=%s field=%d of %d}", t.Name, t.Table.Column(), t.Key+1, t.Columns)
}
