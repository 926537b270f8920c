package pgwire

import "testing"

func TestExplainRouteText(t *testing.T) {
	for _, c := range []struct {
		sql, inner string
		ok         bool
	}{
		{"EXPLAIN ROUTE SELECT 1", "SELECT 1", true},
		{"explain route select 1", "select 1", true},
		{"  EXPLAIN ROUTE SELECT 1 ", "SELECT 1", true},
		{"\n\tExplain\r\nRoute\tSELECT 1", "SELECT 1", true},
		{"\fEXPLAIN ROUTE x", "x", true},
		{"/* a comment */ EXPLAIN ROUTE x", "x", true},
		{"-- a comment\nEXPLAIN ROUTE x", "x", true},
		{"SELECT 1", "", false},
		{"EXPLAIN SELECT 1", "", false},
		{"EXPLAIN ROUTES x", "", false},
		{"EXPLAINROUTE x", "", false},
		{"eXPLAIN", "", false},
		{"(EXPLAIN ROUTE x)", "", false},
		{"", "", false},
	} {
		inner, ok := explainRouteText(c.sql)
		if ok != c.ok || inner != c.inner {
			t.Errorf("explainRouteText(%q) = %q, %v; want %q, %v", c.sql, inner, ok, c.inner, c.ok)
		}
	}
}
