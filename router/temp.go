package router

import (
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Temporary tables live on the one server connection that created them:
// the session is pinned to it (see parser.PinTempObject), and statements
// naming them must run on that connection's shard. Route calls routeTemp
// only when the session has temporary tables or the statement creates one.

// routeTemp routes a statement that creates or names a temporary relation.
// ok is false when it names none and creates none: Route goes on as usual.
func routeTemp(ks *shardmap.Keyspace, stmt *parser.Statement, vals *Values, sess *Session, snap *shardmap.Snapshot) (plan Plan, ok bool, err error) {
	creates := stmt.Pins() == parser.PinTempObject
	var home *shardmap.Shard // the shard of the temporary tables named
	temps, others := 0, 0
	for _, ref := range stmt.Tables {
		r := resolve(ks, ref, sess)
		switch r.class {
		case tableTemp:
			if home != nil && home != r.shard {
				return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "temporary tables %s live on different shards' connections", r.name)
			}
			home = r.shard
			temps++
		case tableCatalog:
		default:
			others++
		}
	}
	if temps == 0 && !creates {
		return nil, false, nil
	}
	if home == nil && sess.TxShard != nil {
		home = sess.TxShard
	}
	if stmt.Kind == parser.KindDDL || (others == 0 && len(stmt.Parts) == 0) {
		// DDL on the session's own temporary objects (the new one counts
		// as other until it exists), or statements over them alone.
		if creates && stmt.Kind == parser.KindDDL && others > 1 || !creates && others > 0 {
			return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "this statement mixes temporary tables with tables of the shard map in a way shardgate cannot route").
				WithHint("Use the temporary table and the sharded tables in separate statements.")
		}
		if home == nil {
			return AnyShard{Keyspace: ks, Why: Reason{Text: "temporary objects of the session"}}, true, nil
		}
		return Single{Keyspace: ks, Shard: home, Why: Reason{Text: "temporary objects of the session"}}, true, nil
	}
	// A temporary table together with tables of the map: route as usual
	// (temporary tables count like catalog tables there), then the plan
	// must land where the temporary tables are.
	inner := *sess
	inner.inTemp = true
	p, err := Route(stmt, vals, &inner, snap)
	if err != nil || home == nil {
		return p, true, err
	}
	switch p := p.(type) {
	case Single:
		if p.Shard != home {
			return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "this statement needs shard %s, but the session's temporary tables live on shard %s", p.Shard.Name, home.Name)
		}
		return p, true, nil
	case AnyShard:
		return Single{Keyspace: ks, Shard: home, Why: Reason{Text: "temporary objects of the session"}}, true, nil
	}
	return p, true, nil
}
