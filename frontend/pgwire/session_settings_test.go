package pgwire

import (
	"slices"
	"testing"

	"github.com/shardgate/shardgate/router"
)

// TestSearchPathFollowsSettings: routing resolves table names with the
// search_path the server will have: the startup one, a SET's, the startup
// one again after RESET, RESET ALL and DISCARD ALL (which once left
// routing on the server's default while the startup SET was replayed).
func TestSearchPathFollowsSettings(t *testing.T) {
	s := &session{c: &ClientConn{User: "app"}, rs: router.Session{User: "app"}, opts: &SessionOptions{}}
	s.applyStartupParams(map[string]string{"options": "-c search_path=tenant1,public"})
	l := &link{state: &connState{}}
	startup := []string{"tenant1", "public"}
	steps := []struct {
		do   func()
		want []string
	}{
		{func() {}, startup},
		{func() { s.applySetting(`SET search_path = tenant2, "$user"`, nil, l) }, []string{"tenant2", "app"}},
		{func() { s.applySetting("RESET search_path", nil, l) }, startup},
		{func() { s.applySetting("SET SESSION search_path TO tenant3", nil, l) }, []string{"tenant3"}},
		{func() { s.applySetting("RESET ALL", nil, l) }, startup},
		{func() { s.applySetting("SET search_path TO DEFAULT", nil, l) }, nil},
		{func() { s.resetSettings() }, startup},
	}
	for i, st := range steps {
		st.do()
		if !slices.Equal(s.rs.SearchPath, st.want) {
			t.Errorf("step %d: search_path %q, want %q (settings %q)", i, s.rs.SearchPath, st.want, s.settings)
		}
	}
}

// A role from the startup options is a role setting like SET ROLE:
// RESET ALL does not undo it, so every connection it is replayed on is
// pinned and reset before reuse (roleSet).
func TestStartupRoleIsRoleSetting(t *testing.T) {
	s := &session{c: &ClientConn{User: "app"}, rs: router.Session{User: "app"}, opts: &SessionOptions{}}
	s.applyStartupParams(map[string]string{"options": "-c role=reporting"})
	if !s.roleSet {
		t.Errorf("options -c role=reporting: not a role setting (settings %q)", s.settings)
	}
}
