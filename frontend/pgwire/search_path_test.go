package pgwire

import (
	"reflect"
	"testing"
)

// TestSearchPathAsTheServerReadsIt: the value text of a recorded SET
// search_path, read as Postgres reads a SET's values (each one schema; a
// string names one schema as written, a bare word lower-cased, a quoted
// identifier as written), and a startup parameter's list replayed as a SET
// that leaves the same list.
func TestSearchPathAsTheServerReadsIt(t *testing.T) {
	for _, c := range []struct {
		value string
		want  []string
	}{
		{"tenant_a", []string{"tenant_a"}},
		{"Tenant_A, public", []string{"tenant_a", "public"}},
		{"'Tenant_A'", []string{"Tenant_A"}},
		{"'a, b'", []string{"a, b"}},
		{`"My Schema", public`, []string{"My Schema", "public"}},
		{`"$user", public`, []string{"alice", "public"}},
		{"'$user'", []string{"alice"}},
		{"''", []string{""}},
		{"E'x\\'y'", []string{"x'y"}},
		{"'it''s'", []string{"it's"}},
		{"tenant_a -- why", []string{"tenant_a"}},
		{"tenant_a /* why */, public", []string{"tenant_a", "public"}},
		{"DEFAULT", nil},
	} {
		if got := parseSearchPath(c.value, "alice"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SET search_path = %s: %q, want %q", c.value, got, c.want)
		}
	}
	for _, c := range []struct{ startup, set string }{
		{"tenant_a", `SET search_path = "tenant_a"`},
		{"Tenant_A, public", `SET search_path = "tenant_a", "public"`},
		{`"My Schema",public`, `SET search_path = "My Schema", "public"`},
		{`"$user", public`, `SET search_path = "$user", "public"`},
		{"", "SET search_path = ''"},
	} {
		if got := startupPathSet(c.startup); got != c.set {
			t.Errorf("startup search_path %q: %s, want %s", c.startup, got, c.set)
		}
	}
	if pathKeyOf(nil) != "" || pathKeyOf([]string{""}) == "" || pathKeyOf([]string{"a", "b"}) == pathKeyOf([]string{"a,b"}) {
		t.Error("pathKeyOf: the server's default and a set path must differ, and so must different lists")
	}
}
