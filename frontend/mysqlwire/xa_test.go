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
	if got := a.onePhase(sh); got != "XA COMMIT '"+a.gtrid+"','1:"+dbTag("")+"' ONE PHASE" {
		t.Fatal(got)
	}
	// The branch names its keyspace (by database), so that a resolver
	// leaves other keyspaces' branches on a shared server alone.
	q := a.branch(&shardmap.Shard{Index: 1, Database: "app"})
	bqual := strings.Trim(q[strings.LastIndexByte(q, ',')+1:], "'")
	if !safeXID(bqual) || len(bqual) > 64 || !ofKeyspace(bqual, "app") || ofKeyspace(bqual, "app2") || !ofKeyspace("1", "app2") {
		t.Fatalf("branch %s: bqual %q", q, bqual)
	}
	if d := a.decisionRow(); !strings.Contains(d, "'"+a.gtrid+"'") || !strings.Contains(d, "shardgate_2pc_fence WHERE owner = '"+ids.owner+"'") {
		t.Fatal(d)
	}
	// A resolver decided one of this incarnation's transactions: it takes
	// a new name, once.
	ids.rename(a.owner)
	renamed := ids.name()
	if renamed == ids.owner || !strings.HasPrefix(renamed, ids.owner[:strings.LastIndexByte(ids.owner, '.')+1]) {
		t.Fatalf("renamed %q to %q", ids.owner, renamed)
	}
	ids.rename(a.owner)
	if ids.name() != renamed {
		t.Fatal("renamed twice for one old name")
	}
	if c := ids.next(&shardmap.Shard{}); c.owner != renamed || !strings.HasPrefix(c.gtrid, "sg:"+renamed+":") {
		t.Fatalf("next after rename: %+v", c)
	}
	// A name older than nameLife is retired at the next transaction.
	ids.named.Store(ids.named.Load() - int64(nameLife) - 1)
	if d := ids.next(&shardmap.Shard{}); d.owner == renamed || !strings.HasPrefix(d.gtrid, "sg:"+d.owner+":") {
		t.Fatalf("an old name was kept: %+v", d)
	}
	if safeXID("x'; DROP TABLE t; --") {
		t.Fatal("a quote passed safeXID")
	}
}
