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
	snap  *shardmap.Snapshot // nil: none
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
// predicates, an IN list).
func NewKeyRoute(stmt *parser.Statement, sess *Session, snap *shardmap.Snapshot) (KeyRoute, bool) {
	if !Keyable(stmt) || len(sess.Temp) > 0 || sess.Read != ReadPrimary {
		return KeyRoute{}, false
	}
	ks, ok := sess.keyspace(snap)
	if !ok {
		return KeyRoute{}, false
	}
	ref := stmt.Tables[0]
	r := resolve(ks, ref, sess)
	if r.class != tableSharded {
		return KeyRoute{}, false
	}
	column := r.table.Column()
	for _, c := range stmt.UpdateColumns {
		if c == column {
			return KeyRoute{}, false // refused by Route, every time
		}
	}
	var key *parser.KeyCandidate
	for i := range stmt.Keys {
		kc := &stmt.Keys[i]
		if kc.Table != 0 || kc.Column != column {
			continue
		}
		if key != nil || len(kc.Values) != 1 {
			return KeyRoute{}, false
		}
		key = kc
	}
	if key == nil {
		return KeyRoute{}, false
	}
	k := KeyRoute{snap: snap, ks: ks, table: r.table, name: r.name, ref: key.Values[0]}
	if !k.res.set(ks, sess) {
		return KeyRoute{}, false // a search_path longer than a context keeps
	}
	return k, true
}

// Route is the statement's one-shard plan for vals (in *one, as RouteOne
// gives it), or ok false: the caller must route in full.
func (k *KeyRoute) Route(vals *Values, sess *Session, snap *shardmap.Snapshot, one *Single) (Plan, bool) {
	if k.snap == nil || k.snap != snap || len(sess.Temp) > 0 || sess.Read != ReadPrimary || !k.res.holds(k.ks, sess) {
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
