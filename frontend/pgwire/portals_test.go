package pgwire

import (
	"maps"
	"testing"
)

func TestPortalSet(t *testing.T) {
	var ps portalSet
	if p, ok := ps.get(""); ok || p != nil {
		t.Fatal("an empty set has the unnamed portal")
	}
	a, b, c := &portal{}, &portal{}, &portal{}
	ps.put("", a)
	ps.put("b", b)
	ps.put("c", c)
	if p, ok := ps.get(""); !ok || p != a {
		t.Fatal("unnamed portal not found")
	}
	if p, ok := ps.get("b"); !ok || p != b {
		t.Fatal("named portal not found")
	}
	if got := maps.Collect(ps.all()); len(got) != 3 || got[""] != a || got["b"] != b || got["c"] != c {
		t.Fatalf("all: %v", got)
	}
	ps.put("", c) // a new Bind of the unnamed portal
	if p, _ := ps.get(""); p != c {
		t.Fatal("the unnamed portal was not replaced")
	}
	// Removing while ranging, as clearPortals does.
	n := 0
	for name := range ps.all() {
		ps.remove(name)
		n++
	}
	if n != 3 || len(maps.Collect(ps.all())) != 0 {
		t.Fatalf("ranged over %d portals, %d left", n, len(maps.Collect(ps.all())))
	}
	if _, ok := ps.get(""); ok {
		t.Fatal("the unnamed portal survived remove")
	}
	if n := testing.AllocsPerRun(100, func() {
		ps.put("", a)
		for name := range ps.all() {
			ps.remove(name)
		}
	}); n != 0 {
		t.Fatalf("binding and clearing the unnamed portal allocates %.1f times", n)
	}
}
