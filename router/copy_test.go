package router_test

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

const copyGolden = "testdata/copy/targets.txt"

func copySession(snap *shardmap.Snapshot) *router.Session {
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	return &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app", SearchPath: []string{"public"},
		Temp: map[string]*shardmap.Shard{"scratch": ks.Shards()[1]},
		Columns: func(schema, table string) ([]string, bool) {
			switch table {
			case "users":
				return []string{"id", "name", "balance"}, true
			case "orders":
				return []string{"id", "user_id", "amount"}, true
			}
			return nil, false
		}}
}

// TestGoldenCopyTargets reads testdata/copy/targets.txt (the format of
// testdata/routes) and checks RouteCopy's target or refusal; -update
// rewrites it.
func TestGoldenCopyTargets(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	data, err := os.ReadFile(copyGolden)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, block := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
		var sql, want string
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "#"):
				out.WriteString(line + "\n")
			case strings.HasPrefix(line, "=> "):
				want = strings.TrimPrefix(line, "=> ")
			default:
				sql += line + "\n"
			}
		}
		sql = strings.TrimSpace(sql)
		if sql == "" {
			continue
		}
		got := copyTarget(an, snap, sql)
		if !*update && got != want {
			t.Errorf("%s\n got: %s\nwant: %s", sql, got, want)
		}
		out.WriteString(sql + "\n=> " + got + "\n\n")
	}
	if *update {
		os.WriteFile(copyGolden, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644)
	}
}

func copyTarget(an *pgsql.Analyzer, snap *shardmap.Snapshot, sql string) string {
	stmt, _, err := an.Analyze(sql, nil)
	if err != nil {
		return describeErr(err)
	}
	target, err := router.RouteCopy(stmt, copySession(snap), snap)
	if err != nil {
		return describeErr(err)
	}
	return target.String()
}

// Each row goes where the same key goes as a literal, in each form.
func TestCopyRowShard(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	stmt, _, err := an.Analyze("COPY users (name, id) FROM STDIN", nil)
	if err != nil {
		t.Fatal(err)
	}
	target, err := router.RouteCopy(stmt, copySession(snap), snap)
	if err != nil {
		t.Fatal(err)
	}
	if target.Key != 1 || target.Columns != 2 || target.KeyBinaryType() != shardmap.BinaryInt8 {
		t.Fatalf("target %v", target)
	}
	for k := int64(-5); k < 50; k++ {
		want, err := snap.Lookup(shardmap.Postgres, "app", "users", shardmap.Int(k))
		if err != nil {
			t.Fatal(err)
		}
		text, err := target.Shard(shardmap.TextBytes([]byte(" " + itoa(k) + " ")))
		if err != nil || text != want {
			t.Fatalf("text %d: %v %v, want %s", k, text, err, want.Name)
		}
		bin, err := target.Shard(shardmap.Binary(shardmap.BinaryInt8, binary.BigEndian.AppendUint64(nil, uint64(k))))
		if err != nil || bin != want {
			t.Fatalf("binary %d: %v %v, want %s", k, bin, err, want.Name)
		}
	}
	for _, tc := range []struct {
		v    shardmap.Value
		code string
	}{
		{shardmap.TextBytes([]byte("abc")), sqlerr.InvalidTextRepresentation},
		{shardmap.TextBytes([]byte("")), sqlerr.InvalidTextRepresentation},
		{shardmap.TextBytes([]byte("99999999999999999999")), sqlerr.NumericValueOutOfRange},
		{shardmap.Null(), sqlerr.NotNullViolation},
		{shardmap.Binary(shardmap.BinaryInt8, []byte{1, 2, 3}), sqlerr.InvalidBinaryRepresentation},
	} {
		_, err := target.Shard(tc.v)
		if e, ok := sqlerr.As(err); !ok || e.Code != tc.code {
			t.Errorf("%v: %v, want %s", tc.v, err, tc.code)
		}
	}
	// Per row, routing allocates nothing.
	field := []byte("123456")
	if n := testing.AllocsPerRun(1000, func() { _, _ = target.Shard(shardmap.TextBytes(field)) }); n != 0 {
		t.Errorf("Shard allocates %v times per row", n)
	}
}

func itoa(k int64) string {
	if k < 0 {
		return "-" + itoa(-k)
	}
	if k < 10 {
		return string(rune('0' + k))
	}
	return itoa(k/10) + string(rune('0'+k%10))
}

func BenchmarkCopyRowShard(b *testing.B) {
	snap := goldenSnapshot(&testing.T{})
	stmt, _, _ := pgsql.NewAnalyzer(pgsql.Options{}).Analyze("COPY users (id, name) FROM STDIN", nil)
	target, err := router.RouteCopy(stmt, copySession(snap), snap)
	if err != nil {
		b.Fatal(err)
	}
	field := []byte("1234567")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = target.Shard(shardmap.TextBytes(field))
	}
}
