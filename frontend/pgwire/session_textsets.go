package pgwire

import (
	"strings"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
)

// SETs inside a multi-statement text (`SET statement_timeout = '5s'; SET
// application_name = 'x'; SELECT …`). The text runs as one implicit
// transaction: all its statements take effect, or, after an error, none.
// So its SETs are recorded, as SETs of their own are, once the text's
// ReadyForQuery shows no error came (inside an explicit transaction:
// tentatively, as the transaction's). Until then the connection's
// settings count as unknown. A text with transaction control, or with a
// SET the session does not record (the proxy's own), is not followed:
// its connection's settings stay unknown (reset before another session
// uses it) and its SETs are not replayed elsewhere.

// textSets are the SETs of the multi-statement text in flight.
type textSets struct {
	link   *link
	sets   []string
	prior  string // link's settings key before the text
	errors int    // s.errors when it was sent
	inTx   bool   // sent inside an explicit transaction
}

// noteTextSets prepares the recording of the SETs of a multi-statement
// text sent on l (and marks l's settings unknown until then).
func (s *session) noteTextSets(stmt *parser.Statement, sql string, l *link) {
	s.textSets = nil
	prior, untracked := l.state.applied, l.state.untracked
	l.state.applied, l.state.untracked = appliedUnknown, true
	if untracked {
		return // settings the proxy could not follow were there already
	}
	for _, p := range stmt.Parts {
		switch {
		case p.Kind == parser.KindBegin, p.Kind == parser.KindCommit, p.Kind == parser.KindRollback, p.Kind == parser.KindSavepoint:
			return
		case p.Kind == parser.KindSet && !trackedSet(p):
			return
		}
	}
	texts, err := pgsql.SplitStatements(sql)
	if err != nil || len(texts) != len(stmt.Parts) {
		return
	}
	ts := &textSets{link: l, prior: prior, errors: s.errors, inTx: s.txOpen}
	for i, p := range stmt.Parts {
		if p.Kind == parser.KindSet {
			ts.sets = append(ts.sets, strings.Clone(texts[i]))
		}
	}
	s.textSets = ts
}

// settleTextSets runs at the ReadyForQuery of l: the text's SETs are
// recorded if no error came. Outside an explicit transaction a failed
// text set nothing (its implicit transaction rolled back): l has its
// settings from before.
func (s *session) settleTextSets(l *link) {
	ts := s.textSets
	s.textSets = nil
	if ts.link != l {
		return
	}
	if s.errors != ts.errors {
		if !ts.inTx {
			l.state.applied, l.state.untracked = ts.prior, false
		}
		return
	}
	l.state.applied, l.state.untracked = ts.prior, false
	for _, sql := range ts.sets {
		s.recordSetting(sql, nil, l)
	}
}
