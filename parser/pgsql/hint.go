package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// Routing hints are block comments that start with "shardgate:", anywhere
// in the text:
//
//	/* shardgate: shard=80- max_lag=500ms read=replicas */
//
// Words are key=value pairs separated by white space; keys are shard,
// max_lag and read (case-insensitive); the bare word explain asks for the
// statement's route instead of running it; unknown words are ignored, and with
// several hint comments a later value overrides an earlier one. Hint
// comments are part of a statement's shape (they stay in the cache key), so
// statements that differ only in their hints do not share an analysis.

// parseHints merges the hint comments (each "/* … */", verbatim) into a
// Hint.
func parseHints(comments []string) parser.Hint {
	var h parser.Hint
	for _, c := range comments {
		body := strings.TrimSuffix(strings.TrimPrefix(c, "/*"), "*/")
		body = strings.TrimLeft(body, " \t\n\r\f\v")
		if len(body) < len(hintPrefix) || !strings.EqualFold(body[:len(hintPrefix)], hintPrefix) {
			continue
		}
		for _, w := range strings.Fields(body[len(hintPrefix):]) {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				if strings.EqualFold(w, "explain") {
					h.Explain = true // EXPLAIN ROUTE of the statement
				}
				continue
			}
			switch strings.ToLower(k) {
			case "shard":
				h.Shard = v
			case "max_lag":
				h.MaxLag = v
			case "read":
				h.Read = v
			}
		}
	}
	return h
}

// lexerHints returns the hint of a text the lexer has read.
func lexerHints(sql string, l *lexer) parser.Hint {
	if l.nhints == 0 {
		return parser.Hint{}
	}
	cs := make([]string, l.nhints)
	for i := range cs {
		cs[i] = sql[l.hints[i].start:l.hints[i].end]
	}
	return parseHints(cs)
}

// scannerHints finds hint comments with Postgres' own scanner, for texts the
// lexer gave up on (and as an independent check of the lexer in tests).
func scannerHints(sql string) parser.Hint {
	if !strings.Contains(sql, "/*") {
		return parser.Hint{}
	}
	res, err := pg_query.Scan(sql)
	if err != nil {
		return parser.Hint{}
	}
	var cs []string
	for _, t := range res.Tokens {
		if t.Token == pg_query.Token_C_COMMENT && int(t.End) <= len(sql) && t.Start >= 0 && t.Start < t.End {
			cs = append(cs, sql[t.Start:t.End])
		}
	}
	return parseHints(cs)
}
