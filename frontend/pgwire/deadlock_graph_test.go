package pgwire

import (
	"strings"
	"testing"
)

func TestCrossShardCycle(t *testing.T) {
	t1 := &txWatch{client: 101}
	t2 := &txWatch{client: 202}
	t3 := &txWatch{client: 303}
	// Backends: t1 is 11 on A and 12 on B; t2 21 on A, 22 on B; t3 31 on
	// A, 32 on B; 99 on B is a session of another client.
	owners := map[string]map[uint32]*txWatch{
		"A": {11: t1, 21: t2, 31: t3},
		"B": {12: t1, 22: t2, 32: t3},
	}
	owner := func(key string, pid uint32) *txWatch { return owners[key][pid] }
	all := func(dlNode) bool { return true }
	starts := []dlNode{{tx: t1}, {tx: t2}, {tx: t3}}

	for _, tc := range []struct {
		name   string
		shards []shardWaits
		ok     func(dlNode) bool
		want   int // edges of the cycle found; 0: none
	}{
		{"across two shards", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 21, BlockedBy: []uint32{11}}}},
			{key: "B", name: "80-", waits: []LockWait{{PID: 12, BlockedBy: []uint32{22}}}},
		}, all, 2},
		{"one shard only: the server's own", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 21, BlockedBy: []uint32{11}}, {PID: 11, BlockedBy: []uint32{21}}}},
		}, all, 0},
		{"a wait that is no cycle", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 21, BlockedBy: []uint32{11}}}},
			{key: "B", name: "80-", waits: []LockWait{{PID: 32, BlockedBy: []uint32{22}}}},
		}, all, 0},
		{"through a backend of another client", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 21, BlockedBy: []uint32{11}}}},
			{key: "B", name: "80-", waits: []LockWait{{PID: 12, BlockedBy: []uint32{99}}, {PID: 99, BlockedBy: []uint32{22}}}},
		}, all, 3},
		{"three transactions", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 11, BlockedBy: []uint32{21}}, {PID: 31, BlockedBy: []uint32{11}}}},
			{key: "B", name: "80-", waits: []LockWait{{PID: 22, BlockedBy: []uint32{32}}}},
		}, all, 3},
		{"a prepared transaction (pid 0) is no wait", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 21, BlockedBy: []uint32{0}}}},
			{key: "B", name: "80-", waits: []LockWait{{PID: 12, BlockedBy: []uint32{22}}}},
		}, all, 0},
		{"a transaction that has not waited long enough is not entered", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 21, BlockedBy: []uint32{11}}}},
			{key: "B", name: "80-", waits: []LockWait{{PID: 12, BlockedBy: []uint32{22}}}},
		}, func(n dlNode) bool { return n.tx != t2 }, 0},
		{"a local cycle beside a cross-shard one", []shardWaits{
			{key: "A", name: "-80", waits: []LockWait{{PID: 11, BlockedBy: []uint32{21}}, {PID: 21, BlockedBy: []uint32{11}}}},
			{key: "B", name: "80-", waits: []LockWait{{PID: 22, BlockedBy: []uint32{12}}}},
		}, all, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := buildGraph(tc.shards, owner)
			cyc := crossShardCycle(g, starts, tc.ok)
			if len(cyc) != tc.want {
				t.Fatalf("cycle of %d waits, want %d: %+v", len(cyc), tc.want, cyc)
			}
			if cyc == nil {
				return
			}
			for i, e := range cyc {
				if next := cyc[(i+1)%len(cyc)]; e.to != next.from {
					t.Fatalf("not a cycle at %d: %+v", i, cyc)
				}
				if !g.hasEdge(e) {
					t.Fatalf("edge %+v not in the graph", e)
				}
			}
			if len(cycleShards(cyc)) < 2 {
				t.Fatalf("cycle on one shard: %+v", cyc)
			}
		})
	}
}

func TestDescribeCycle(t *testing.T) {
	t1 := &txWatch{client: 101}
	t2 := &txWatch{client: 202}
	cyc := []dlEdge{
		{from: dlNode{tx: t2}, to: dlNode{tx: t1}, key: "A", shard: "-80", waiter: 21, holder: 11},
		{from: dlNode{tx: t1}, to: dlNode{tx: t2}, key: "B", shard: "80-", waiter: 12, holder: 22},
	}
	msg, detail := describeCycle(cyc, t1)
	if want := "deadlock detected across shards: this transaction waited on shard 80- for client 202, which waits on shard -80 for this transaction"; msg != want {
		t.Fatalf("message\n got %q\nwant %q", msg, want)
	}
	if want := "Client 101 waits on shard 80- (backend 12) for backend 22.\nClient 202 waits on shard -80 (backend 21) for backend 11."; detail != want {
		t.Fatalf("detail\n got %q\nwant %q", detail, want)
	}
	cyc[0].from = dlNode{key: "A", pid: 21}
	if _, detail = describeCycle(cyc, t1); !strings.HasSuffix(detail, "\nBackend 21 waits on shard -80 for backend 11.") {
		t.Fatalf("detail %q", detail)
	}
}
