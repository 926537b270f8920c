package differential

import (
	"regexp"

	"github.com/shardgate/shardgate/differential/corpus"
)

// query is one statement of the corpus (testdata/*.sql) with its
// annotations.
type query = corpus.Query

var orderBy = regexp.MustCompile(`(?i)\border\s+by\b`)

// ordered reports whether q's result order is specified; the corpus
// orders only by unique keys, so an ordered result is compared row by row.
func ordered(q query) bool { return orderBy.MatchString(q.SQL) }

// readCorpus reads testdata/*.sql.
func readCorpus() ([]query, error) {
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = m.name
	}
	return corpus.Read("testdata", names...)
}
