package pgwire

import (
	"errors"
	"strconv"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
)

// EXECUTE of a SQL-level prepared SELECT that the router scatters: the
// SELECT of the PREPARE (its declared parameter types written as casts,
// pgsql.PreparedSelect) runs on the shards as a scatter portal would, with
// EXECUTE's arguments bound as text parameters. A constant argument read
// by the parameter type's input function is what EXECUTE's coercion of
// the constant gives; an argument that is not a plain constant (an
// expression, a cast) is refused, as the proxy cannot evaluate it once for
// every shard.

// scatterRefusal is errScatterNotYet's error: the plan travels with it, so
// that EXECUTE can run the read itself.
type scatterRefusal struct {
	plan router.Scatter
	err  *sqlerr.Error
}

func (e *scatterRefusal) Error() string { return e.err.Error() }

func (e *scatterRefusal) Unwrap() error { return e.err }

// sqlExecuteScatter answers EXECUTE of a statement whose route refused
// with err: when err is a scatter read the session can run (a
// scatterRefusal), it runs it and answers up to ReadyForQuery (handled).
// prepareSQL is a PREPARE text of the statement (any name).
func (s *session) sqlExecuteScatter(err error, prepareSQL string, args []parser.ValueRef, lits []parser.Literal) (handled bool, _ error) {
	var r *scatterRefusal
	if !errors.As(err, &r) || s.opts.RewriteScatter == nil || s.opts.Decoder == nil {
		return false, nil
	}
	if !s.scatterInTxOK() {
		return true, s.simpleError(errScatterInTx)
	}
	body, err := pgsql.PreparedSelect(prepareSQL)
	if err != nil {
		return true, s.simpleError(err)
	}
	bind := pgio.Bind{Params: make([][]byte, len(args))}
	for i, a := range args {
		v, ok := executeArgText(a, lits)
		if !ok {
			return true, s.simpleError(sqlerr.New(sqlerr.FeatureNotSupported,
				"EXECUTE of a read over several shards with argument %d that is not a plain constant is not supported", i+1).
				WithHint("Pass numbers, strings or NULL, or send the SELECT itself."))
		}
		bind.Params[i] = v
	}
	p := &portal{cs: &clientStmt{sql: body}, scatter: &scatterPortal{plan: r.plan, bind: bind}}
	param := func(n int) (int64, bool, bool) { return bindInt(&bind, nil, n) }
	n, failed, err := s.executeScatterTexts(p, param, nil, true, true)
	if rerun, ok := err.(*errAvgRerun); ok {
		n, failed, err = s.executeScatterTexts(p, param, rerun.avgs, false, true)
	}
	if err != nil {
		if _, ok := sqlerr.As(err); ok {
			return true, s.simpleError(err)
		}
		return true, err
	}
	if !failed {
		s.out.WriteCommandComplete("SELECT " + strconv.FormatInt(n, 10))
	}
	s.out.WriteReadyForQuery(s.clientStatus())
	return true, nil
}

// executeArgText is an EXECUTE argument as a text parameter: a literal
// as written (decoded for a string), NULL as nil. ok is false for anything
// else.
func executeArgText(a parser.ValueRef, lits []parser.Literal) ([]byte, bool) {
	switch a.Source {
	case parser.FromNull:
		return nil, true
	case parser.FromLiteral:
		if a.Cast != "" || a.Index < 0 || a.Index >= len(lits) {
			return nil, false
		}
		l := lits[a.Index]
		switch l.Kind {
		case parser.LiteralInteger, parser.LiteralNumeric:
			if a.Negate {
				return []byte("-" + l.Text), true
			}
			return []byte(l.Text), true
		case parser.LiteralString:
			return []byte(l.Text), true
		}
	}
	return nil, false
}
