package pgwire

import (
	"encoding/binary"
	"strconv"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Scatter reads through the extended protocol, outside a transaction or
// inside one (on its connections, as the simple protocol's; see
// scatterJoinsTx). Bind answers BindComplete
// itself and keeps the parameters; Execute runs the read on every shard
// (Parse, Bind with the client's parameters and result formats, Describe,
// Execute, Sync on one connection per shard) and writes the merged rows. A
// Describe of the portal is answered by a shard's description of the
// client's statement (the shards share the schema, and it is what one
// database would say), with the portal's result formats.

// scatterPortal is a bound scatter read.
type scatterPortal struct {
	plan router.Scatter
	bind pgio.Bind // a copy: the client's message buffer is reused
	// done: the read ran to completion; executed again, the portal
	// returns no more rows, as Postgres's does.
	done bool
}

// bindScatter binds a portal that runs on several shards.
func (s *session) bindScatter(cs *clientStmt, m *pgio.Bind, plan router.Scatter) error {
	switch {
	case s.opts.RewriteScatter == nil || s.opts.Decoder == nil:
		return errScatterNotYet(plan)
	case s.txFailed:
		return errInFailedTx // a Bind of a prepared read, as the server would say
	case !s.scatterInTxOK():
		return errScatterInTx
	case s.batch != nil:
		return sqlerr.New(sqlerr.FeatureNotSupported, "a cross-shard read cannot share a pipeline (the messages up to Sync) with other statements yet").
			WithHint("Send it in a pipeline of its own, or give one sharding key value.")
	}
	s.portals.put(string(m.Portal), &portal{cs: cs, scatter: &scatterPortal{plan: plan, bind: copyBind(m)}})
	s.queueLocal(pgio.TypeBindComplete)
	return nil
}

func copyBind(m *pgio.Bind) pgio.Bind {
	c := pgio.Bind{
		ParamFormats:  append(pgio.Int16s(nil), m.ParamFormats...),
		ResultFormats: append(pgio.Int16s(nil), m.ResultFormats...),
		Params:        make([][]byte, len(m.Params)),
	}
	for i, p := range m.Params {
		if p != nil {
			c.Params[i] = append([]byte{}, p...)
		}
	}
	return c
}

// executeScatter runs a scatter portal. Its answer follows everything the
// client is owed before it, so the queue is drained first.
func (s *session) executeScatter(p *portal, maxRows uint32) error {
	if maxRows != 0 {
		return sqlerr.New(sqlerr.FeatureNotSupported, "fetching a cross-shard read in parts (Execute with a row limit) is not supported yet")
	}
	if err := s.drain(true); err != nil { // a server in the batch must answer now (a Describe)
		return err
	}
	if s.skipping {
		return nil // an error earlier in the batch: skipped, as Postgres would
	}
	if !s.txOpen && s.batch != nil && s.batchRan == s.batch {
		// A statement of this pipeline ran on a server after the Bind:
		// the pipeline's implicit transaction runs there, and the read
		// on other connections would not see its writes. The refusal
		// (extError) fails that transaction, as an error would on one
		// database: nothing of the pipeline commits at Sync.
		return errScatterInPipeline
	}
	if !s.scatterInTxOK() {
		// The transaction reached a server after the Bind, earlier in
		// this batch: the read would now run inside it.
		return errScatterInTx
	}
	sp := p.scatter
	if sp.done {
		s.out.WriteCommandComplete("SELECT 0")
		return nil
	}
	param := func(n int) (int64, bool, bool) { return bindInt(&sp.bind, p.cs.oids, n) }
	n, failed, err := s.executeScatterTexts(p, param, nil, true, false)
	if rerun, ok := err.(*errAvgRerun); ok {
		n, failed, err = s.executeScatterTexts(p, param, rerun.avgs, false, false)
	}
	if err != nil {
		return err
	}
	if failed {
		s.discard = true // the client's messages are ignored until Sync
		return nil
	}
	sp.done = true
	s.out.WriteCommandComplete("SELECT " + strconv.FormatInt(n, 10))
	return nil
}

// executeScatterTexts rewrites and runs a scatter portal once; describe:
// the client gets the RowDescription first.
func (s *session) executeScatterTexts(p *portal, param func(n int) (int64, bool, bool), float8Avgs []int, mayRerun, describe bool) (int64, bool, error) {
	sp := p.scatter
	st, err := scatterTexts(sp.plan, p.cs.sql, param, float8Avgs)
	if err != nil {
		return 0, false, err
	}
	m := st.merge
	bind := sp.bind
	if bind.ResultFormats.Len() > 1 && m.Hidden > 0 {
		// Per-column formats name the client's columns; the hidden ones
		// come back as text.
		bind.ResultFormats = append(append(pgio.Int16s(nil), bind.ResultFormats...), make(pgio.Int16s, 2*m.Hidden)...)
	}
	opts := executor.Options{Params: mergeParams(&sp.bind, p.cs.oids)}
	return s.scatter(sp.plan, m, opts, func(i int, l *link) {
		parse := pgio.Parse{Query: []byte(st.texts[i]), ParamOIDs: pgio.Uint32s(pgio.AppendUint32s(nil, p.cs.oids...))}
		bind := bind
		if st.params != nil {
			parse.ParamOIDs = pgio.Uint32s(pgio.AppendUint32s(nil, oidsFor(p.cs.oids, st.params[i])...))
			bind = bindFor(&bind, st.params[i])
		}
		// The read's portal has a name of the proxy's own, closed after
		// use: in a transaction the connection may hold the client's
		// unnamed portal, which the read must leave alone. (The server's
		// unnamed statement is never the client's: ensurePrepared names
		// every statement.)
		bind.Portal = []byte(scatterPortalName)
		l.w.WriteParse(&parse)
		l.w.WriteClose(pgio.ObjectPortal, scatterPortalName) // none: not an error
		l.w.WriteBind(&bind)
		l.w.WriteDescribe(pgio.ObjectPortal, scatterPortalName)
		l.w.WriteExecute(scatterPortalName, 0)
		l.w.WriteClose(pgio.ObjectPortal, scatterPortalName)
		l.w.WriteSync()
	}, describe, mayRerun)
}

// scatterPortalName is the server portal of a cross-shard read's
// extended-protocol messages.
const scatterPortalName = "shardgate_scatter"

var errScatterInPipeline = sqlerr.New(sqlerr.FeatureNotSupported, "a cross-shard read after another statement in the same pipeline without BEGIN cannot run in the pipeline's implicit transaction").
	WithHint("Wrap the pipeline in BEGIN/COMMIT, or send the read in a pipeline of its own.")

// bindInt reads bind parameter $n as a bigint, for a LIMIT or OFFSET.
func bindInt(b *pgio.Bind, oids []uint32, n int) (v int64, null, ok bool) {
	if n < 1 || n > len(b.Params) {
		return 0, false, false
	}
	raw := b.Params[n-1]
	if raw == nil {
		return 0, true, true
	}
	if b.ParamFormats.Format(n-1) == 0 {
		v, err := strconv.ParseInt(string(raw), 10, 64)
		return v, false, err == nil
	}
	switch len(raw) {
	case 2:
		return int64(int16(binary.BigEndian.Uint16(raw))), false, true
	case 4:
		return int64(int32(binary.BigEndian.Uint32(raw))), false, true
	case 8:
		return int64(binary.BigEndian.Uint64(raw)), false, true
	}
	return 0, false, false
}

// describeOnShard answers a Describe of a portal on several shards (a
// scatter read, a write on several shards): a shard describes the client's
// statement; its RowDescription gets the portal's result formats, its
// ParameterDescription is dropped. Inside a transaction that reached a
// server, the transaction's last shard describes it: any shard can, and
// another would join the transaction for nothing.
func (s *session) describeOnShard(p *portal, shard *shardmap.Shard, formats pgio.Int16s) error {
	if s.txLink != nil {
		shard = s.txLink.shard
	}
	l, err := s.linkForUse(shard, false)
	if err != nil {
		return err
	}
	srvName := s.ensurePrepared(l, p.cs)
	l.w.WriteDescribe(pgio.ObjectStatement, srvName)
	s.queue(pending{exp: expDescribeS, link: l, cs: p.cs, portalFormats: formats, asPortal: true})
	return nil
}

// withFormats rewrites the format codes of a RowDescription.
func withFormats(body []byte, formats pgio.Int16s) []byte {
	out := append([]byte(nil), body...)
	if eachRowDescField(out, func(i int, _, f []byte) {
		binary.BigEndian.PutUint16(f[16:], uint16(formats.Format(i)))
	}) != nil {
		return body
	}
	return out
}
