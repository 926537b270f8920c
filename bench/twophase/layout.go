package main

import (
	"fmt"
	"strconv"
)

// The users table is sharded by id with the range vindex, split at
// splitID: shard 0 holds ids below it, shard 1 the others. pgbench cannot
// compute the hash vindex (murmur3), and a benchmark whose keys are chosen
// by arithmetic needs no lookup table and no extra round trip to pick
// them; routing by range costs the proxy what routing by hash does.
const splitID = 1_000_000_000_000

// clientStride separates the keys of two clients; a client's n-th
// transaction writes ids base + client×clientStride + 2n (and +1 for the
// second row of a one-shard transaction), so keys never repeat within a run.
const clientStride = 1_000_000_000

// maxClients keeps every client's keys (ids 0…maxClients-1) below splitID
// on shard 0.
const maxClients = splitID/clientStride - 1

// layout says which shards a transaction's two rows go to.
type layout uint8

const (
	oneShard  layout = iota + 1 // both rows on shard 0
	twoShards                   // one row on each shard
)

func (l layout) String() string {
	switch l {
	case oneShard:
		return "2 rows on 1 shard"
	case twoShards:
		return "2 rows on 2 shards"
	}
	return "layout(" + strconv.Itoa(int(l)) + ")"
}

// bases are the first keys of the two rows (client 0, n = 0).
func (l layout) bases() (a0, b0 int64) {
	if l == twoShards {
		return 1, splitID + 1
	}
	return 1, 2
}

// keys are the ids client c writes in its n-th transaction (n from 1):
// the pgbench script computes the same.
func (l layout) keys(c int, n int64) (a, b int64) {
	a0, b0 := l.bases()
	off := int64(c)*clientStride + 2*n
	return a0 + off, b0 + off
}

// perShard is the rows each transaction leaves on shard 0 and shard 1.
func (l layout) perShard() [2]int64 {
	if l == twoShards {
		return [2]int64{1, 1}
	}
	return [2]int64{2, 0}
}

// pgbenchScript is the transaction as pgbench runs it: its variables
// persist across a client's transactions, n starting from -D n=0, so the
// keys are those of layout.keys.
var pgbenchScript = fmt.Sprintf(`\set n :n + 1
\set a :a0 + :client_id * %[1]d + 2 * :n
\set b :b0 + :client_id * %[1]d + 2 * :n
BEGIN;
INSERT INTO users (id, name, balance) VALUES (:a, 'bench', 100);
INSERT INTO users (id, name, balance) VALUES (:b, 'bench', 100);
COMMIT;
`, clientStride)

// pgbenchDefines are the -D options that select l's keys.
func (l layout) pgbenchDefines() []string {
	a0, b0 := l.bases()
	return []string{"-D", "n=0", "-D", fmt.Sprintf("a0=%d", a0), "-D", fmt.Sprintf("b0=%d", b0)}
}
