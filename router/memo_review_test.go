package router

import (
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// TestMemoReviewFollowsSessionChanges: one Session (and so one memo of its
// table resolutions, 6706e10) follows every change a later statement may
// make: a new search_path, the same slice edited in place, back to the
// default, another user (the default path's "$user"), a path longer than
// the memo holds, a temporary table created over a sharded one and
// dropped, and a new map version that no longer has the table. The
// suspicion (a stale resolution) proved false.
func TestMemoReviewFollowsSessionChanges(t *testing.T) {
	snap := testSnapshot(t)
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	invoices := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "invoices"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "account", Values: []parser.ValueRef{lit(0)}}}}
	vals := &Values{Literals: []parser.Literal{{Kind: parser.LiteralString, Text: "acme"}}}
	s := sess()
	found := func(what string, want bool) {
		t.Helper()
		_, err := Route(invoices, vals, s, snap)
		if want && err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !want {
			if err == nil {
				t.Fatalf("%s: invoices resolved, want undefined", what)
			}
			wantCode(t, err, sqlerr.UndefinedTable)
		}
	}
	found("default path", false)
	s.SearchPath = []string{"billing", "public"}
	found("SET search_path = billing, public", true)
	s.SearchPath[0] = "other" // the same slice, edited
	found("search_path edited in place", false)
	s.SearchPath = nil
	found("RESET search_path", false)
	s.User = "billing" // "$user" is now billing
	found("another user on the default path", true)
	s.User = "app"
	found("back to the first user", false)
	s.SearchPath = []string{"a", "b", "c", "d", "billing"}
	found("a path of five schemas", true)
	s.SearchPath = []string{"a", "b", "c", "d", "e"}
	found("another path of five schemas", false)

	// A temporary table named like a sharded one hides it, and no longer
	// once dropped.
	users := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}}}
	s.SearchPath = nil
	if _, err := Route(users, &Values{}, s, snap); err != nil {
		t.Fatal(err)
	}
	tempShard := ks.Shards()[1]
	s.Temp = map[string]*shardmap.Shard{"users": tempShard}
	if p, err := Route(users, &Values{}, s, snap); err != nil || p.(Single).Shard != tempShard {
		t.Fatalf("temporary users: %v %v", p, err)
	}
	delete(s.Temp, "users")
	if p, err := Route(users, &Values{}, s, snap); err != nil {
		t.Fatal(err)
	} else if _, ok := p.(Single); ok {
		t.Fatalf("users after DROP of the temporary table routed to one shard: %v", p)
	}

	// A new map version without billing.invoices.
	s.SearchPath = []string{"billing"}
	found("before the map change", true)
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	snap2, err := shardmap.Compile(2, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{{KeyRange: "-80", Primary: node("a", 1)}, {KeyRange: "80-", Primary: node("b", 2)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	snap = snap2
	found("after the map dropped it", false)
}
