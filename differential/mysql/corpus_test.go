package mysql

import (
	"regexp"

	"github.com/shardgate/shardgate/differential/corpus"
)

// corpusDir holds the MySQL corpus, beside the Postgres one.
const corpusDir = "../testdata/mysql"

// query is one statement of the corpus with its annotations.
type query = corpus.Query

var (
	orderBy     = regexp.MustCompile(`(?i)\border\s+by\b`)
	orderByNull = regexp.MustCompile(`(?i)\border\s+by\s+null\b`)
)

// ordered reports whether q's result order is specified (ORDER BY NULL is
// not an order); the corpus orders only by unique keys, so an ordered
// result is compared row by row.
func ordered(q query) bool { return orderBy.MatchString(q.SQL) && !orderByNull.MatchString(q.SQL) }

// readCorpus reads corpusDir/*.sql.
func readCorpus() ([]query, error) {
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = m.name
	}
	return corpus.Read(corpusDir, names...)
}
