package pgwire

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
)

// EXPLAIN ROUTE <statement> answers, without running anything, where the
// statement would run: one row per shard with the target, the reason and
// the SQL sent there, then the merge steps of a scatter read. It is the
// proxy's own statement (Postgres has no EXPLAIN ROUTE), through the simple
// protocol.

const explainRoutePrefix = "EXPLAIN ROUTE"

// explainRouteText returns the statement after EXPLAIN ROUTE, if sql is one.
func explainRouteText(sql string) (string, bool) {
	if len(sql) > 0 {
		// Every other statement is turned away at its first byte.
		if c := sql[0]; c != 'E' && c != 'e' && c != '-' && c != '/' && c > ' ' {
			return "", false
		}
	}
	t := stripLeadingComments(sql)
	if len(t) < len(explainRoutePrefix)+1 || !strings.EqualFold(t[:len("EXPLAIN")], "EXPLAIN") {
		return "", false
	}
	rest := strings.TrimLeft(t[len("EXPLAIN"):], " \t\r\n")
	if len(rest) == len(t)-len("EXPLAIN") {
		return "", false // EXPLAINROUTE: one word
	}
	if len(rest) < len("ROUTE")+1 || !strings.EqualFold(rest[:len("ROUTE")], "ROUTE") {
		return "", false
	}
	switch rest[len("ROUTE")] {
	case ' ', '\t', '\r', '\n':
	default:
		return "", false
	}
	return strings.TrimSpace(rest[len("ROUTE"):]), true
}

// explainRoute answers EXPLAIN ROUTE.
func (s *session) explainRoute(inner string) error {
	stmt, lits, err := s.opts.Analyzer.Analyze(inner, nil)
	if err != nil {
		return s.simpleError(err)
	}
	plan, err := s.route(stmt, &router.Values{Literals: lits, Bound: true})
	if err != nil {
		return s.simpleError(err)
	}
	var rows [][4]string
	switch p := plan.(type) {
	case *router.Single: // s.route's one-shard plans (router.RouteOne)
		rows = append(rows, [4]string{p.Shard.Name, p.Target.String(), p.Why.String(), inner})
	case router.Single:
		rows = append(rows, [4]string{p.Shard.Name, p.Target.String(), p.Why.String(), inner})
	case router.AnyShard:
		sh := s.anyShard(p.Keyspace)
		rows = append(rows, [4]string{sh.Name, p.Target.String(), p.Why.String() + " (any shard)", inner})
	case router.Scatter:
		if s.opts.RewriteScatter == nil {
			return s.simpleError(errScatterNotYet(p))
		}
		st, err := scatterTexts(p, inner, nil, nil)
		if err != nil {
			return s.simpleError(err)
		}
		for i, sh := range p.Shards {
			rows = append(rows, [4]string{sh.Name, p.Target.String(), p.Why.String(), st.texts[i]})
		}
		for _, step := range mergeSteps(st.merge) {
			rows = append(rows, [4]string{"", "merge", step, ""})
		}
	case router.Broadcast, router.SplitInsert:
		pieces, err := s.piecesOf(plan, inner)
		if err != nil {
			return s.simpleError(err)
		}
		why, commit := "", "commit: two-phase (PREPARE TRANSACTION on each, decision on shard "+pieces[0].shard.Name+", COMMIT PREPARED)"
		switch p := plan.(type) {
		case router.Broadcast:
			why = p.Why.String()
			if p.OneByOne {
				commit = "one shard after another, outside a transaction; stops at the first failure"
			}
		case router.SplitInsert:
			why = p.Why.String()
		}
		for _, pc := range pieces {
			rows = append(rows, [4]string{pc.shard.Name, router.Primary.String(), why, pc.sql})
		}
		if len(pieces) > 1 {
			rows = append(rows, [4]string{"", "commit", commit, ""})
		}
	}
	s.out.WriteRaw(pgio.TypeRowDescription, textRowDescription("shard", "target", "reason", "sql"))
	var buf []byte
	for _, r := range rows {
		buf = appendTextRow(buf[:0], r[:])
		s.out.WriteRaw(pgio.TypeDataRow, buf)
	}
	s.out.WriteCommandComplete("EXPLAIN")
	s.out.WriteReadyForQuery(s.clientStatus())
	return nil
}

// mergeSteps describes a merge, one step per line.
func mergeSteps(m *parser.Merge) []string {
	var steps []string
	for _, a := range m.Aggregates {
		if a.Func == parser.AggAvg {
			steps = append(steps, fmt.Sprintf("avg in column %s = total of its partial sums / total of the counts in column %s", col(a.Column), col(a.CountColumn)))
			continue
		}
		if a.Func == parser.AggCountDistinct || a.Func == parser.AggSumDistinct || a.Func == parser.AggAvgDistinct {
			steps = append(steps, fmt.Sprintf("%s of the values in column %s (each shard returns them grouped)", a.Func, col(a.Column)))
			continue
		}
		steps = append(steps, fmt.Sprintf("%s of column %s's partial results", a.Func, col(a.Column)))
	}
	if len(m.GroupBy) > 0 {
		steps = append(steps, fmt.Sprintf("group by columns %v (hash, capped)", plusOne(m.GroupBy)))
	} else if m.Aggregates != nil {
		steps = append(steps, "one group: combine one row per shard")
	}
	if len(m.Order) > 0 {
		var keys []string
		for _, k := range m.Order {
			dir := "asc"
			if k.Desc {
				dir = "desc"
			}
			nulls := "nulls last"
			if k.NullsFirst {
				nulls = "nulls first"
			}
			keys = append(keys, fmt.Sprintf("column %s %s %s", col(k.Column), dir, nulls))
		}
		how := "k-way merge of the shards' sorted rows"
		if m.Aggregates != nil || len(m.GroupBy) > 0 {
			how = "sort the groups"
		}
		steps = append(steps, how+" by "+strings.Join(keys, ", "))
	} else if m.Aggregates == nil && len(m.GroupBy) == 0 {
		steps = append(steps, "concatenate the shards' rows")
	}
	if m.Having != nil {
		steps = append(steps, "keep the groups HAVING holds for (evaluated on the combined groups)")
	}
	if m.Distinct {
		steps = append(steps, "drop duplicate rows")
	}
	if m.Offset > 0 {
		steps = append(steps, fmt.Sprintf("skip %d rows", m.Offset))
	}
	if m.Limit >= 0 {
		steps = append(steps, fmt.Sprintf("stop after %d rows", m.Limit))
	}
	if m.Hidden > 0 {
		steps = append(steps, fmt.Sprintf("strip the %d hidden columns", m.Hidden))
	}
	return steps
}

// col names a merge column for people: 1-based, or counted from the end.
func col(c int) string {
	if c < 0 {
		return fmt.Sprintf("%d from the end", -c)
	}
	return fmt.Sprint(c + 1)
}

func plusOne(cols []int) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = col(c)
	}
	return out
}

// textRowDescription describes text columns of the given names.
func textRowDescription(names ...string) []byte {
	out := binary.BigEndian.AppendUint16(nil, uint16(len(names)))
	for _, n := range names {
		out = append(out, n...)
		out = append(out, 0)
		out = binary.BigEndian.AppendUint32(out, 0)  // table OID
		out = binary.BigEndian.AppendUint16(out, 0)  // column number
		out = binary.BigEndian.AppendUint32(out, 25) // text
		out = binary.BigEndian.AppendUint16(out, 0xFFFF)
		out = binary.BigEndian.AppendUint32(out, 0xFFFFFFFF)
		out = binary.BigEndian.AppendUint16(out, 0)
	}
	return out
}

// appendTextRow appends a DataRow body of text values ("" is NULL).
func appendTextRow(buf []byte, vals []string) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(vals)))
	for _, v := range vals {
		if v == "" {
			buf = binary.BigEndian.AppendUint32(buf, 0xFFFFFFFF)
			continue
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		buf = append(buf, v...)
	}
	return buf
}
