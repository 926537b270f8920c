package mysqltest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// mysql2 (node), the driver most Node.js apps use: text queries,
// server-side prepared statements (execute) on both shards, a rolled back
// transaction, a read of both shards, an auto-increment insert id that
// LAST_INSERT_ID() repeats, a syntax error (1064, 42000) after which the
// connection still answers. Installed by scripts/install-deps.sh.
func TestMySQL2(t *testing.T) {
	dir := filepath.Join("testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mysql2")); err != nil {
		t.Fatalf("mysql2 is not installed: run `make deps` (%v)", err)
	}
	host, port, _ := net.SplitHostPort(addr)
	ids := idsOnEachShard(t, 59300)
	out, err := exec.Command("node", filepath.Join(dir, "client.js"), host, port,
		fmt.Sprint(ids[0]), fmt.Sprint(ids[1])).CombinedOutput()
	if err != nil {
		t.Fatalf("mysql2 client: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"executed":        fmt.Sprintf("node ü 🐬 %d", ids[1]),
		"executedAgain":   fmt.Sprintf("node ü 🐬 %d", ids[0]),
		"queried":         fmt.Sprintf("node ü 🐬 %d", ids[0]),
		"afterRollback":   fmt.Sprintf("node ü 🐬 %d", ids[0]),
		"scatter":         fmt.Sprintf("2 %d %d", min(ids[0], ids[1]), max(ids[0], ids[1])),
		"insertIdMatches": true,
		"syntaxError":     "1064 42000",
		"afterError":      "mouse",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %s)", k, got[k], v, out)
		}
	}
	for i, id := range ids {
		if n := one(t, direct(t, shardOf(t, id)), "SELECT COUNT(*) FROM users WHERE id = ?", id); n != "1" {
			t.Errorf("user %d (shard %d) on its shard: %s rows", id, i, n)
		}
	}
}
