package pgsql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// describeCopy prints a CopyInfo compactly for the table below.
func describeCopy(c *parser.CopyInfo) string {
	if c == nil {
		return "<nil>"
	}
	var b strings.Builder
	t := c.Table.Name
	if c.Table.Schema != "" {
		t = c.Table.Schema + "." + t
	}
	fmt.Fprintf(&b, "%s cols=%q from=%v %s %s where=%v", t, c.Columns, c.From, c.Endpoint, c.Format, c.Where)
	for _, o := range c.Options {
		fmt.Fprintf(&b, " %s", o.Name)
		switch {
		case o.HasValue:
			fmt.Fprintf(&b, "=%q", o.Value)
		case o.Star:
			b.WriteString("=*")
		case o.Columns != nil:
			fmt.Fprintf(&b, "=%q", o.Columns)
		}
	}
	return b.String()
}

func TestCopyInfo(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{`COPY users FROM STDIN`, `users cols=[] from=true stdio text where=false`},
		{`COPY users (id, "Name") FROM STDIN`, `users cols=["id" "Name"] from=true stdio text where=false`},
		{`COPY s.users FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'x', QUOTE '''', ESCAPE E'\\', FORCE_NOT_NULL (name), FORCE_NULL *)`,
			`s.users cols=[] from=true stdio csv where=false format="csv" header delimiter=";" null="x" quote="'" escape="\\" force_not_null=["name"] force_null=*`},
		{`COPY users FROM STDIN WITH CSV HEADER DELIMITER AS '|' QUOTE AS '"' FORCE NOT NULL name`,
			`users cols=[] from=true stdio csv where=false format="csv" header="true" delimiter="|" quote="\"" force_not_null=["name"]`},
		{`COPY users FROM STDIN (HEADER match, FORMAT text)`, `users cols=[] from=true stdio text where=false header="match" format="text"`},
		{`COPY users FROM STDIN (HEADER on)`, `users cols=[] from=true stdio text where=false header="on"`},
		{`COPY users FROM STDIN (HEADER 1)`, `users cols=[] from=true stdio text where=false header="1"`},
		{`COPY BINARY users FROM STDIN`, `users cols=[] from=true stdio binary where=false format="binary"`},
		{`copy "users" ( "id", "name" ) from stdin binary;`, `users cols=["id" "name"] from=true stdio binary where=false format="binary"`},
		{`COPY users FROM STDIN WHERE id > 5`, `users cols=[] from=true stdio text where=true`},
		{`COPY users FROM '/tmp/users.txt'`, `users cols=[] from=true file text where=false`},
		{`COPY users FROM PROGRAM 'cat /tmp/x'`, `users cols=[] from=true program text where=false`},
		{`COPY users TO STDOUT (FORMAT csv)`, `users cols=[] from=false stdio csv where=false format="csv"`},
		{`COPY (SELECT 1) TO STDOUT`, ` cols=[] from=false stdio text where=false`},
	} {
		a := NewAnalyzer(Options{})
		for round := 0; round < 2; round++ {
			st, _, err := a.Analyze(tc.sql, nil)
			if err != nil {
				t.Fatalf("%s: %v", tc.sql, err)
			}
			if st.Kind != parser.KindCopy {
				t.Fatalf("%s: kind %s", tc.sql, st.Kind)
			}
			if got := describeCopy(st.Copy); got != tc.want {
				t.Errorf("%s (round %d):\n got %s\nwant %s", tc.sql, round, got, tc.want)
			}
		}
	}
}

// Two COPYs that differ only by an option's string must each get their own
// value, whatever the cache does with texts of the same shape.
func TestCopyOptionValuesPerText(t *testing.T) {
	a := NewAnalyzer(Options{})
	texts := map[string]string{
		`COPY users FROM STDIN WITH (DELIMITER '|')`:   "|",
		`COPY users FROM STDIN WITH (DELIMITER ',')`:   ",",
		`COPY users FROM STDIN WITH (DELIMITER E'\t')`: "\t",
		`COPY users FROM STDIN DELIMITER ';'`:          ";",
	}
	for round := 0; round < 3; round++ {
		for sql, want := range texts {
			st, _, err := a.Analyze(sql, nil)
			if err != nil {
				t.Fatal(err)
			}
			o, ok := st.Copy.Option("delimiter")
			if !ok || o.Value != want {
				t.Errorf("%s: delimiter %q, want %q", sql, o.Value, want)
			}
		}
	}
	if s := a.Stats(); s.Entries != 0 {
		t.Errorf("a COPY with a string option was cached: %+v", s)
	}
}
