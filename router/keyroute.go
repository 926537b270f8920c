package router

import (
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// KeyRoute is a statement's route reduced to its one key value: the
// statement reads or changes one sharded table, by one equality on its
// sharding column, so once Route has walked it the shard depends only on
// that value. A prepared statement bound again and again (the hot path of
// every driver that prepares) is then routed by the value alone: the
// statement's walk, its table resolution and the key predicate search are
// skipped.
//
// A KeyRoute answers only while everything else Route read is unchanged:
// the snapshot, the session's table resolution (user, database,
// search_path), no temporary tables, the primary read policy. Otherwise,
// and whenever the value does not give exactly one shard, Route says ok
// false and the caller routes in full, which gives the same plan or the
// error. TestKeyRouteAgreesWithRoute holds the two together.
type KeyRoute struct {
	snap *shardmap.Snapshot // nil: none
	// none: the statement has no key route in this snapshot and context
	// (a reference table, say), so it is not examined again (Known).
	none  bool
	ks    *shardmap.Keyspace
	table *shardmap.Table
	name  string // the table as written, for the plan's reason
	ref   parser.ValueRef
	res   resolveContext // what the table's resolution depended on
}

// Keyable reports whether stmt's one-shard routes can be key routes: it
// depends on the statement only, so a session asks once per statement.
func Keyable(stmt *parser.Statement) bool {
	switch stmt.Kind {
	case parser.KindSelect, parser.KindUpdate, parser.KindDelete:
	default:
		return false
	}
	return stmt.Hint.Shard == "" && !stmt.Hint.HasRead() && len(stmt.Parts) == 0 &&
		!stmt.SubQuery && !stmt.InsertSelect && stmt.Pins() == parser.PinNone &&
		len(stmt.Tables) == 1
}

// NewKeyRoute makes the key route of a Keyable stmt for sess and snap, as
// they are when Route just sent it to one shard; ok is false when its
// route is not a key route (a reference table, no key, two key
// predicates, an IN list), and the KeyRoute then only remembers that
// (Known).
func NewKeyRoute(stmt *parser.Statement, sess *Session, snap *shardmap.Snapshot) (KeyRoute, bool) {
	if !Keyable(stmt) || len(sess.Temp) > 0 || sess.Read != ReadPrimary {
		return KeyRoute{}, false
	}
	ks, ok := sess.keyspace(snap)
	if !ok {
		return KeyRoute{}, false
	}
	k := KeyRoute{snap: snap, ks: ks}
	if !k.res.set(ks, sess) {
		return KeyRoute{}, false // a search_path longer than a context keeps
	}
	ref := stmt.Tables[0]
	r := resolve(ks, ref, sess)
	key := keyOf(stmt, r)
	if key == nil {
		k.none = true
		return k, false
	}
	k.table, k.name, k.ref = r.table, r.name, key.Values[0]
	return k, true
}

// keyOf is the one key predicate that routes stmt's one table r, or nil.
func keyOf(stmt *parser.Statement, r resolved) *parser.KeyCandidate {
	if r.class != tableSharded {
		return nil
	}
	column := r.table.Column()
	for _, c := range stmt.UpdateColumns {
		if c == column {
			return nil // refused by Route, every time
		}
	}
	var key *parser.KeyCandidate
	for i := range stmt.Keys {
		kc := &stmt.Keys[i]
		if kc.Table != 0 || kc.Column != column {
			continue
		}
		if key != nil || len(kc.Values) != 1 {
			return nil
		}
		key = kc
	}
	return key
}

// Known reports whether k was made (by NewKeyRoute) for snap and the
// session's table resolution: a route, or the knowledge that there is
// none, which a new NewKeyRoute would only find again.
func (k *KeyRoute) Known(sess *Session, snap *shardmap.Snapshot) bool {
	return k.snap != nil && k.snap == snap && k.res.holds(k.ks, sess)
}

// Route is the statement's one-shard plan for vals (in *one, as RouteOne
// gives it), or ok false: the caller must route in full.
func (k *KeyRoute) Route(vals *Values, sess *Session, snap *shardmap.Snapshot, one *Single) (Plan, bool) {
	if k.none || k.snap == nil || k.snap != snap || len(sess.Temp) > 0 || sess.Read != ReadPrimary || !k.res.holds(k.ks, sess) {
		return nil, false
	}
	v, ok := value(k.ref, vals)
	if !ok {
		return nil, false
	}
	shard, err := k.table.Lookup(v, shardmap.Compare)
	if err != nil {
		return nil, false // no row can match, or a value Route refuses
	}
	if sess.TxShard != nil && shard != sess.TxShard && !sess.JoinShards {
		return nil, false // Route's refusal
	}
	*one = Single{Keyspace: k.ks, Shard: shard, Why: Reason{Table: k.name, Column: k.table.Column(), Key: v}}
	return one, true
}

// KeyRoutes are a session's key routes for the statements it ran last,
// found by the statement's identity: the analysis cache gives every
// execution of a shape the same Statement, whether it comes as a simple
// query, a prepared statement, or the unnamed statement parsed again for
// each execution. Drivers alternate between a few statements; the last
// four Keyable ones are kept, the one added first replaced. The zero
// value is ready and small: the slots are allocated at the first Keyable
// statement, so a session that never runs one does not carry them.
type KeyRoutes struct {
	s *keySlots
}

type keySlots struct {
	stmts  [4]*parser.Statement
	routes [4]KeyRoute
	next   int
}

// For returns stmt's key route, empty the first time (the caller routes in
// full and then makes it), or nil when stmt can have none (Keyable).
func (k *KeyRoutes) For(stmt *parser.Statement) *KeyRoute {
	if s := k.s; s != nil {
		for i, st := range s.stmts {
			if st == stmt {
				return &s.routes[i]
			}
		}
	}
	if !Keyable(stmt) {
		return nil
	}
	if k.s == nil {
		k.s = new(keySlots)
	}
	s := k.s
	i := s.next
	s.next = (s.next + 1) % len(s.stmts)
	s.stmts[i], s.routes[i] = stmt, KeyRoute{}
	return &s.routes[i]
}

// RouteOne is RouteOne through the session's key routes: by stmt's key
// route while it holds, else in full, making the key route when the full
// route sends stmt to one shard.
func (k *KeyRoutes) RouteOne(stmt *parser.Statement, vals *Values, sess *Session, snap *shardmap.Snapshot, one *Single) (Plan, error) {
	kr := k.For(stmt)
	if kr == nil {
		return RouteOne(stmt, vals, sess, snap, one)
	}
	if plan, ok := kr.Route(vals, sess, snap, one); ok {
		return plan, nil
	}
	plan, err := RouteOne(stmt, vals, sess, snap, one)
	if plan == Plan(one) && err == nil && !kr.Known(sess, snap) {
		*kr, _ = NewKeyRoute(stmt, sess, snap)
	}
	return plan, err
}
