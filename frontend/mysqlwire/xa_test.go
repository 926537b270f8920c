package mysqlwire

import (
	"strings"
	"testing"

	"github.com/shardgate/shardgate/shardmap"
)

func TestXIDs(t *testing.T) {
	ids := xaIDs{owner: ownerName("proxy one:with/odd chars-and a very long name that goes on and on") + ".k3x"}
	if strings.ContainsAny(ids.owner, ": /'") || len(ids.owner) > 44 {
		t.Fatalf("owner %q", ids.owner)
	}
	a, b := ids.next(&shardmap.Shard{Index: 3}), ids.next(&shardmap.Shard{Index: 0})
	if a.gtrid == b.gtrid {
		t.Fatal("ids repeat")
	}
	if len(a.gtrid) > 64 {
		t.Fatalf("gtrid %q is over XA's 64 bytes", a.gtrid)
	}
	if n, ok := parseGtrid(a.gtrid); !ok || n != 3 {
		t.Fatalf("anchor of %q: %d %v", a.gtrid, n, ok)
	}
	if !safeXID(a.gtrid) {
		t.Fatalf("%q is not quotable as is", a.gtrid)
	}
	for _, g := range []string{"other:1:2:3", "sg:o:1", "sg:o:1:x", "sg:o:1:-1", "sg:a:b:1:2"} {
		if _, ok := parseGtrid(g); ok {
			t.Errorf("parseGtrid(%q) accepted", g)
		}
	}
	sh := &shardmap.Shard{Index: 1}
	if got := a.onePhase(sh); got != "XA COMMIT '"+a.gtrid+"','1' ONE PHASE" {
		t.Fatal(got)
	}
	if safeXID("x'; DROP TABLE t; --") {
		t.Fatal("a quote passed safeXID")
	}
}
