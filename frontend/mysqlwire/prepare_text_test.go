package mysqlwire

import (
	"context"
	"strings"
	"testing"

	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"
)

// Binary-protocol temporal parameters reach the server written as MariaDB
// writes them (zero-padded, a fraction only when not zero), not as
// vitess decodes them: '99-1-1' would be read as 1999-01-01.
func TestTemporalParametersWrittenPadded(t *testing.T) {
	for _, c := range []struct {
		typ  querypb.Type
		in   string // as vitess decodes the binary value
		want string
	}{
		{sqltypes.Date, "99-1-1", "'0099-01-01'"},
		{sqltypes.Date, "0000-00-00", "'0000-00-00'"},
		{sqltypes.Datetime, "2024-1-5 3:4:5.000000", "'2024-01-05 03:04:05'"},
		{sqltypes.Datetime, "2024-1-5 3:4:5.000120", "'2024-01-05 03:04:05.000120'"},
		{sqltypes.Timestamp, "2024-12-31 23:59:59", "'2024-12-31 23:59:59'"},
		{sqltypes.Datetime, "2024-1-5 00:00:00", "'2024-01-05 00:00:00'"},
		{sqltypes.Time, "-27:3:4.500000", "'-27:03:04.500000'"},
		{sqltypes.Time, "838:59:59.000000", "'838:59:59'"},
		{sqltypes.Time, "00:00:00", "'00:00:00'"},
		{sqltypes.Datetime, "not a date", "'not a date'"},
	} {
		var b strings.Builder
		writeLiteral(&b, &querypb.BindVariable{Type: c.typ, Value: []byte(c.in)})
		if got := b.String(); got != c.want {
			t.Errorf("%v %q: %s, want %s", c.typ, c.in, got, c.want)
		}
	}
}

// The prepare-time column probe's LIMIT 0 goes on a line of its own: a
// text ending in a -- or # comment would otherwise swallow it, and the
// probe would read the whole table. The probes are run on the server.
func TestColumnsProbeAfterTrailingComment(t *testing.T) {
	ss := &session{s: &Server{o: Options{Analyzer: keywordAnalyzer{}}}}
	for _, q := range []string{"SELECT id FROM app.t -- the list", "SELECT id FROM app.t # the list", "SELECT id FROM app.t /* c */"} {
		text, ok := ss.columnsQuery(q, nil)
		if !ok || !strings.HasSuffix(strings.TrimSpace(text), "\nLIMIT 0") {
			t.Errorf("%q: probe %q, %v; want LIMIT 0 on a line of its own", q, text, ok)
			continue
		}
		if err := node.Exec(context.Background(), text); err != nil {
			t.Errorf("%q: probe %q: %v", q, text, err)
		}
	}
}
