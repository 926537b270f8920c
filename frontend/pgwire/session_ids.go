package pgwire

import (
	"context"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Global IDs (docs/design/insert-split-and-global-ids.md): an INSERT that
// leaves a table's generated column out is routed only once the proxy has
// filled it. The router says so (router.NeedsIDs); the session takes the
// values from the generator, rewrites the text with them as literals, and
// runs the new text in place of the client's.

// IDSource hands out n values of a generator (proxy.globalIDs.Fill).
type IDSource func(ctx context.Context, req *router.IDRequest, ks *shardmap.Keyspace) ([]int64, error)

// ColumnAdder writes values of column into an INSERT's rows
// (parser/pgsql.AddInsertColumn).
type ColumnAdder func(sql, column string, values []int64) (string, error)

// withIDs returns the text of sql with the generated column filled, and
// its analysis.
func (s *session) withIDs(req *router.IDRequest, sql string) (string, *parser.Statement, []parser.Literal, error) {
	if s.opts.IDs == nil || s.opts.AddColumn == nil {
		return "", nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s leaves its generated column %s out, and this endpoint has no ID generator", req.Table, req.Column)
	}
	ks, ok := s.opts.Snapshot().Keyspace(shardmap.Postgres, s.c.Database)
	if !ok {
		return "", nil, nil, sqlerr.New("3D000", "database %q does not exist", s.c.Database)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	ids, err := s.opts.IDs(ctx, req, ks)
	cancel()
	if err != nil {
		return "", nil, nil, err
	}
	text, err := s.opts.AddColumn(sql, req.Column, ids)
	if err != nil {
		return "", nil, nil, err
	}
	stmt, lits, err := s.opts.Analyzer.Analyze(text, nil)
	if err != nil {
		return "", nil, nil, err
	}
	return text, stmt, lits, nil
}

// simpleWithIDs runs a simple Query whose INSERT needs generated values.
func (s *session) simpleWithIDs(req *router.IDRequest, sql string) error {
	text, _, _, err := s.withIDs(req, sql)
	if err != nil {
		return s.simpleError(err)
	}
	s.opts.Stats.Queries.Add(^uint64(0)) // the same statement, counted once
	return s.simpleQuery(append([]byte(text), 0))
}

// bindWithIDs binds an extended-protocol INSERT whose generated column the
// proxy fills: the filled text is prepared, for this execution only, as
// the connection's unnamed statement, with the client's parameter types.
func (s *session) bindWithIDs(req *router.IDRequest, cs *clientStmt, m *pgio.Bind, portalName string) error {
	text, stmt, lits, err := s.withIDs(req, cs.sql)
	if err != nil {
		return err
	}
	plan, err := s.route(stmt, &router.Values{Literals: lits, Bound: true, Params: s.paramValues(cs, m)})
	if err != nil {
		if _, again := router.NeedsIDs(err); again {
			return sqlerr.New(sqlerr.InternalError, "INSERT into %s: the generated column is still missing after filling it", req.Table)
		}
		return err
	}
	switch plan.(type) {
	case *router.Single, router.Single, router.AnyShard:
	default:
		return errFanOutHere(plan)
	}
	l, err := s.linkForPlan(plan, stmt)
	if err != nil {
		return err
	}
	p := pgio.Parse{Query: []byte(text), ParamOIDs: pgio.Uint32s(pgio.AppendUint32s(nil, cs.oids...))}
	l.w.WriteParse(&p)
	s.queue(pending{exp: expParse, link: l, swallow: true})
	m.Statement = nil
	l.w.WriteBind(m)
	s.portals.put(portalName, &portal{cs: cs, link: l})
	s.queue(pending{exp: expBind, link: l})
	return nil
}
