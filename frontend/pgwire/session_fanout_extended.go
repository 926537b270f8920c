package pgwire

import (
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/router"
)

// Writes on several shards through the extended protocol. As for scatter
// reads, Bind answers BindComplete itself and keeps the parameters;
// Execute runs each shard's piece (Parse of the piece with the client's
// parameter types, Bind with the client's parameters, Execute, Sync)
// inside the session's transaction or an implicit one it commits at once;
// a Describe of the portal is answered by a shard's description of the
// client's statement.

// fanOutPortal is a bound write on several shards.
type fanOutPortal struct {
	plan router.Plan // Broadcast or SplitInsert
	bind pgio.Bind   // a copy: the client's message buffer is reused
}

func (s *session) bindFanOut(cs *clientStmt, m *pgio.Bind, plan router.Plan) error {
	s.writesUnknown(router.Shards(plan))
	if b, ok := plan.(router.Broadcast); ok && b.OneByOne {
		return sqlerr.New(sqlerr.FeatureNotSupported, "a statement that runs shard by shard outside a transaction (CONCURRENTLY) works through the simple query protocol only")
	}
	if s.batch != nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "a write on several shards cannot share a pipeline (the messages up to Sync) with other statements outside a transaction").
			WithHint("Send it in a pipeline of its own, or inside BEGIN … COMMIT.")
	}
	s.portals.put(string(m.Portal), &portal{cs: cs, fanOut: &fanOutPortal{plan: plan, bind: copyBind(m)}})
	s.queueLocal(pgio.TypeBindComplete)
	return nil
}

// executeFanOut runs a bound write on several shards. Its answer follows
// everything the client is owed before it, so the queue is drained first.
func (s *session) executeFanOut(p *portal, maxRows uint32) error {
	if maxRows != 0 {
		return sqlerr.New(sqlerr.FeatureNotSupported, "fetching the rows of a write on several shards in parts (Execute with a row limit) is not supported")
	}
	if err := s.drain(true); err != nil {
		return err
	}
	if s.skipping {
		return nil // an error earlier in the batch: skipped, as Postgres would
	}
	pieces, err := s.piecesOf(p.fanOut.plan, p.cs.sql)
	if err != nil {
		return err
	}
	return s.runPieces(p.fanOut.plan, pieces, func(i int, l *link) {
		bind, oids := p.fanOut.bind, p.cs.oids
		if pieces[i].renumbered {
			bind, oids = bindFor(&bind, pieces[i].params), oidsFor(oids, pieces[i].params)
		}
		l.w.WriteParse(&pgio.Parse{Query: []byte(pieces[i].sql), ParamOIDs: pgio.Uint32s(pgio.AppendUint32s(nil, oids...))})
		l.w.WriteBind(&bind)
		l.w.WriteExecute("", 0)
		l.w.WriteSync()
	}, true)
}
