package mysql

import (
	"strings"

	"github.com/shardgate/shardgate/parser"
)

// Routing hints are block comments that start with "shardgate:", anywhere
// in the text, as on the Postgres side (parser/pgsql/hint.go):
//
//	/* shardgate: shard=80- max_lag=500ms read=replicas */
//
// Words are key=value pairs separated by white space; keys are shard,
// max_lag and read (case-insensitive); the bare word explain asks for the
// statement's route instead of running it; unknown words are ignored, and
// with several hint comments a later value overrides an earlier one. Hint
// comments stay in the key, so statements that differ only in their hints
// do not share an analysis. A hint inside a versioned comment (/*! … */)
// is not one: MySQL runs that body as SQL.

const hintPrefix = "shardgate:"

// isHintComment: a block comment whose body starts with the prefix.
func isHintComment(c string) bool {
	if !strings.HasPrefix(c, "/*") {
		return false
	}
	body := strings.TrimLeft(c[2:], " \t\n\r\f\v")
	return len(body) >= len(hintPrefix) && strings.EqualFold(body[:len(hintPrefix)], hintPrefix)
}

// parseHints merges hint comments (each "/* … */", verbatim) into a Hint.
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
					h.Explain = true
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
