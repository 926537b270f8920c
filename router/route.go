package router

import (
	"errors"
	"fmt"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Route decides where one execution of stmt runs. It is pure: the same
// inputs always give the same Plan. Statements the session handles itself
// (BEGIN, COMMIT, ROLLBACK, SET) are not routed here.
func Route(stmt *parser.Statement, vals *Values, sess *Session, snap *shardmap.Snapshot) (Plan, error) {
	return routeTo(stmt, vals, sess, snap, nil)
}

// RouteOne is Route for a caller that routes statement after statement
// (a session): a one-shard plan is written to *one and returned as one, a
// *Single, which the Plan interface holds as it is. Route's Single is
// copied to the heap instead (~160 bytes, a quarter of Route's time).
// Every one-shard plan RouteOne returns is that *Single; it is valid until
// the caller's next use of *one.
func RouteOne(stmt *parser.Statement, vals *Values, sess *Session, snap *shardmap.Snapshot, one *Single) (Plan, error) {
	p, err := routeTo(stmt, vals, sess, snap, one)
	if s, ok := p.(Single); ok {
		// From a path that routes through Route (temporary tables,
		// multi-statement texts): rare, and moved to *one all the same.
		*one = s
		return one, err
	}
	return p, err
}

// routeTo is Route; one, if not nil, receives a one-shard plan (RouteOne).
func routeTo(stmt *parser.Statement, vals *Values, sess *Session, snap *shardmap.Snapshot, one *Single) (Plan, error) {
	p, err := route(stmt, vals, sess, snap, one)
	if err != nil || (sess.Read == ReadPrimary && !stmt.Hint.HasRead()) {
		return p, err // the default: nothing to decide, nothing to re-box
	}
	t, err := readTarget(stmt, sess)
	if err != nil {
		return nil, err
	}
	return withTarget(p, t), nil
}

// single is a one-shard plan: in *one when the caller keeps one
// (RouteOne), else boxed.
func single(p Single, one *Single) Plan {
	if one == nil {
		return p
	}
	*one = p
	return one
}

// route is Route before the read target is chosen.
func route(stmt *parser.Statement, vals *Values, sess *Session, snap *shardmap.Snapshot, one *Single) (Plan, error) {
	ks, ok := sess.keyspace(snap)
	if !ok {
		return nil, sqlerr.New("3D000", "database %q does not exist", sess.Keyspace)
	}
	if stmt.Hint.Shard != "" {
		return routeHint(ks, stmt, sess, one)
	}
	if !sess.inTemp && (len(sess.Temp) > 0 || stmt.Pins() == parser.PinTempObject) {
		if plan, ok, err := routeTemp(ks, stmt, vals, sess, snap); ok {
			return plan, err
		}
	}
	if len(stmt.Parts) > 0 {
		return routeMulti(ks, stmt, vals, sess, snap, one)
	}
	switch stmt.Kind {
	case parser.KindEmpty:
		return AnyShard{Keyspace: ks, Why: Reason{Text: "empty statement"}}, nil
	case parser.KindDDL:
		return broadcastDDL(ks, stmt, sess)
	case parser.KindCopy:
		if stmt.CopyFrom {
			// The session reads COPY … FROM STDIN's rows and routes each
			// (RouteCopy); a COPY FROM reaching Route came another way.
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY … FROM through shardgate is not supported yet").
				WithHint("COPY … FROM STDIN works as a simple-protocol query of its own (psql's \\copy, pgx's CopyFrom); not through the extended protocol or among other statements.")
		}
	}

	// Most statements name a few tables: their resolutions live on the
	// stack (Route runs for every statement; it must not allocate).
	var tablesBuf [4]resolved
	var shardedBuf [4]int
	tables := tablesBuf[:0]
	sharded := shardedBuf[:0] // indexes into stmt.Tables
	hasReference := false
	for i, ref := range stmt.Tables {
		r := resolve(ks, ref, sess)
		switch r.class {
		case tableUnknown:
			return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q is not in the shard map of database %q", r.name, ks.Name()).
				WithHint("Add it to the keyspace's tables (with its sharding column) or reference_tables.")
		case tableSharded:
			sharded = append(sharded, i)
		case tableReference:
			hasReference = true
		}
		tables = append(tables, r)
	}
	if len(sharded) == 0 {
		if hasReference && writes(stmt) {
			return broadcastReference(ks, sess)
		}
		return inTx(AnyShard{Keyspace: ks, Why: Reason{Text: whyNoShardedTable(hasReference)}}, sess, one)
	}
	for _, ti := range sharded {
		t := tables[ti].table
		for _, c := range stmt.UpdateColumns {
			if c == t.Column() && ti == 0 {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "updating the sharding column %s of %s is not supported: the row would have to move to another shard", c, tables[ti].name).
					WithHint("Delete the row and insert it with its new key.")
			}
		}
	}
	if stmt.SubQuery && subQueryReadsSharded(ks, stmt, sess) {
		// A key of the outer query does not bound a sub-query; over
		// reference and catalog tables (the same on every shard) it is
		// exact anywhere.
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "sub-queries over sharded tables are not supported yet: they may need every shard").
			WithHint("Run the sub-query as its own statement, or use a join on the sharding key.")
	}
	if stmt.Kind == parser.KindInsert {
		return routeInsert(ks, stmt, vals, sess, tables, one)
	}
	if stmt.InsertSelect {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "INSERT … SELECT into a sharded table is not supported")
	}
	return routeByKeys(ks, stmt, vals, sess, tables, sharded, one)
}

func whyNoShardedTable(reference bool) string {
	if reference {
		return "reference tables only"
	}
	return "no sharded table"
}

// inTx pins an AnyShard plan to the open transaction's shard, and checks
// that a one-shard plan stays on it (unless shards may join).
func inTx(p Plan, sess *Session, one *Single) (Plan, error) {
	if sess.TxShard == nil {
		return p, nil
	}
	switch q := p.(type) {
	case AnyShard:
		return single(Single{Keyspace: q.Keyspace, Shard: sess.TxShard, Target: q.Target, Why: Reason{Text: q.Why.Text, Tx: sess.TxShard.Name}}, one), nil
	case Single:
		return inTxSingle(q, sess, one)
	}
	return p, nil
}

// inTxSingle is inTx of a one-shard plan, boxed only when one is nil: the
// hot path's plans never pass through an interface value before that.
func inTxSingle(p Single, sess *Session, one *Single) (Plan, error) {
	if sess.TxShard != nil && p.Shard != sess.TxShard && !sess.JoinShards {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"this statement needs shard %s, but the open transaction runs on shard %s, and two-phase commit is off", p.Shard.Name, sess.TxShard.Name).
			WithHint("Set transactions.two_phase_commit: on, or keep the transaction's rows on one shard.")
	}
	return single(p, one), nil
}

// routeByKeys routes SELECT/UPDATE/DELETE by the equality predicates on
// sharding columns: every sharded table must be pinned to the same shard.
func routeByKeys(ks *shardmap.Keyspace, stmt *parser.Statement, vals *Values, sess *Session, tables []resolved, sharded []int, one *Single) (Plan, error) {
	var shard *shardmap.Shard
	var why Reason
	neverMatches := false
	missing, unkeyed := -1, 0
	var keyed uint64 // bit i: sharded[i] has a usable key
	for si, ti := range sharded {
		t := tables[ti].table
		found := false
		for _, kc := range stmt.Keys {
			if kc.Table != ti || kc.Column != t.Column() {
				continue
			}
			ps, err := keyShards(t, kc.Values, vals, shardmap.Compare)
			if err != nil {
				return nil, err
			}
			if !ps.known {
				continue // a value the proxy cannot evaluate: not a usable key
			}
			found = true
			if ps.never {
				neverMatches = true
				break
			}
			for _, s := range [2]*shardmap.Shard{ps.shard, ps.other} {
				switch {
				case s == nil:
				case shard == nil:
					shard, why = s, Reason{Table: tables[ti].name, Column: t.Column(), Key: ps.first}
				case s != shard:
					return scatterOr(ks, stmt, sess, groupCount(stmt, tables, sharded), "keys on several shards", multiShard(stmt, []*shardmap.Shard{shard, s}), keyShardSet(ks, t, kc.Values, vals))
				}
			}
			break
		}
		if !found {
			if missing < 0 {
				missing = ti
			}
			unkeyed++
		} else if si < 64 {
			keyed |= 1 << si
		}
	}
	if unkeyed > 0 {
		// A table without a key may follow a keyed one it is joined with
		// on their sharding columns (router/colocate.go).
		groups := 1
		var g []int
		if len(sharded) > 1 {
			g, groups = shardingGroups(stmt, tables, sharded)
		}
		if shard == nil || g == nil || !allGroupsKeyed(g, keyed) {
			t := tables[missing].table
			err := noKey(stmt, tables[missing].name, t.Column(), vals)
			if NeedsBind(err) {
				return nil, err
			}
			return scatterOr(ks, stmt, sess, groups, "no key on "+tables[missing].name+"."+t.Column(), err, nil)
		}
	}
	if shard == nil && neverMatches {
		return inTx(AnyShard{Keyspace: ks, Why: Reason{Text: "key predicate matches no row"}}, sess, one)
	}
	return inTxSingle(Single{Keyspace: ks, Shard: shard, Why: why}, sess, one)
}

// predicateShards is where a key predicate's values go.
type predicateShards struct {
	// shard is the first value's shard (the first that matches any row);
	// other is a second, different shard if the values span several, and
	// then the statement needs several shards.
	shard, other *shardmap.Shard
	// known is false when a value is unknown to the proxy (an expression,
	// say): the predicate cannot select a shard.
	known bool
	// never: every value matches no row.
	never bool
	first shardmap.Value // the first value, for the route's reason
}

// keyShards maps a predicate's values to shards, without allocating: it
// keeps two distinct shards at most, which is all routing needs to know.
func keyShards(t *shardmap.Table, refs []parser.ValueRef, vals *Values, use shardmap.Use) (predicateShards, error) {
	ps := predicateShards{never: true}
	for i, ref := range refs {
		v, ok := value(ref, vals)
		if !ok {
			return predicateShards{first: ps.first}, nil
		}
		if i == 0 {
			ps.first = v
		}
		s, err := t.Lookup(v, use)
		if errors.Is(err, shardmap.ErrNeverMatches) {
			continue
		}
		if err != nil && use == shardmap.Compare && mysqlConverts(t, err) {
			// MariaDB compares text with an integer column as a number
			// ('78100.0', ' 7e1', '42abc' with a warning); the proxy does
			// not guess that conversion: every shard compares for itself.
			return predicateShards{first: ps.first}, nil
		}
		if err != nil {
			return predicateShards{first: ps.first}, err
		}
		ps.never = false
		switch {
		case ps.shard == nil:
			ps.shard = s
		case s != ps.shard && ps.other == nil:
			ps.other = s
		}
	}
	ps.known = true
	return ps, nil
}

// mysqlConverts: err is shardmap's refusal of a text that is not a plain
// integer (or out of its range), which a MariaDB keyspace's server
// converts instead.
func mysqlConverts(t *shardmap.Table, err error) bool {
	var e *sqlerr.Error
	return t.Keyspace().Engine() == shardmap.MySQL && errors.As(err, &e) &&
		(e.Code == sqlerr.InvalidTextRepresentation || e.Code == sqlerr.NumericValueOutOfRange)
}

func multiShard(stmt *parser.Statement, shards []*shardmap.Shard) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "this %s needs several shards (%s); cross-shard statements are not supported yet", stmt.Kind, shardNames(shards)).
		WithHint("Give one sharding key value, so the statement runs on one shard.")
}

func noKey(stmt *parser.Statement, table, column string, vals *Values) error {
	for _, kc := range stmt.Keys {
		if kc.Column == column {
			for _, r := range kc.Values {
				if r.Source == parser.FromParam && !vals.Bound {
					return errNeedsBind
				}
			}
		}
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "this %s on %s needs every shard: it has no equality on the sharding column %s", stmt.Kind, table, column).
		WithHint("%s", fmt.Sprintf("Add `WHERE %s = …` (or `%s IN (…)` with keys of one shard); cross-shard statements are not supported yet.", column, column))
}

// errNeedsBind: the key is a parameter and the values are not bound yet
// (a Parse-time route). The session routes again after Bind.
var errNeedsBind = errors.New("router: the sharding key is a parameter; route after Bind")

// NeedsBind reports whether err means "route again once parameters are bound".
func NeedsBind(err error) bool { return errors.Is(err, errNeedsBind) }

func routeInsert(ks *shardmap.Keyspace, stmt *parser.Statement, vals *Values, sess *Session, tables []resolved, one *Single) (Plan, error) {
	target := tables[0]
	if target.class != tableSharded {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s reads a sharded table; not supported", target.name)
	}
	if stmt.Insert == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "INSERT … SELECT into a sharded table is not supported")
	}
	t := target.table
	cols := stmt.Insert.Columns
	if cols == nil {
		ref := stmt.Tables[0]
		if sess.Columns != nil {
			cols, _ = sess.Columns(ref.Schema, ref.Name)
		}
		if cols == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s without a column list: the table's column order is not known", target.name).
				WithHint("%s", fmt.Sprintf("Name the columns: INSERT INTO %s (%s, …) VALUES …", target.name, t.Column()))
		}
	}
	if t.Generated() != nil {
		if err := generatedIDs(t, target.name, stmt.Insert, cols, stmt.Insert.Columns != nil); err != nil {
			return nil, err
		}
	}
	pos := -1
	for i, c := range cols {
		if c == t.Column() {
			pos = i
		}
	}
	if pos < 0 {
		return nil, sqlerr.New(sqlerr.NotNullViolation, "INSERT into %s must give the sharding column %s", target.name, t.Column())
	}
	var shard *shardmap.Shard
	var firstKey shardmap.Value
	several := false // rows for more than one shard: a SplitInsert
	for r, row := range stmt.Insert.Rows {
		if pos >= len(row) {
			return nil, sqlerr.New(sqlerr.NotNullViolation, "INSERT into %s must give the sharding column %s", target.name, t.Column())
		}
		ref := row[pos]
		if ref.Source == parser.FromDefault {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s: the sharding column %s must be given, not DEFAULT", target.name, t.Column())
		}
		if ref.Source == parser.FromParam && !vals.Bound {
			return nil, errNeedsBind
		}
		v, ok := value(ref, vals)
		if !ok {
			return nil, unknownInsertKey(target.name, t.Column())
		}
		s, err := t.Lookup(v, shardmap.Assign)
		if err != nil {
			return nil, noShardForRow(err, r, target.name)
		}
		if shard == nil {
			shard, firstKey = s, v
		} else if s != shard && !several {
			several = true
		}
	}
	if shard == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s without rows", target.name)
	}
	if several {
		if stmt.WritableCTE {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this INSERT has rows for several shards and a WITH clause that writes: every shard would run it").
				WithHint("Insert the rows of each shard in their own statement.")
		}
		p, err := splitInsert(ks, stmt.Insert.Rows, pos, t, target.name, vals)
		if err != nil {
			return nil, err
		}
		return inTx(p, sess, one)
	}
	return inTxSingle(Single{Keyspace: ks, Shard: shard, Why: Reason{Table: target.name, Column: t.Column(), Key: firstKey, Insert: true}}, sess, one)
}

// routeHint follows a /* shardgate: shard=… */ hint: a shard name or key range.
func routeHint(ks *shardmap.Keyspace, stmt *parser.Statement, sess *Session, one *Single) (Plan, error) {
	for _, s := range ks.Shards() {
		if s.Name == stmt.Hint.Shard || s.Range.String() == stmt.Hint.Shard {
			return inTxSingle(Single{Keyspace: ks, Shard: s, Why: Reason{Text: "hint shard=" + stmt.Hint.Shard}}, sess, one)
		}
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "hint shard=%s: no such shard in database %q", stmt.Hint.Shard, ks.Name())
}

// writes reports whether the statement changes data (COPY … TO reads).
func writes(stmt *parser.Statement) bool {
	if stmt.Kind == parser.KindCopy {
		return stmt.CopyFrom
	}
	return stmt.Kind.IsWrite()
}
