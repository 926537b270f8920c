package shardmap

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files from the current code")

// goldenInputs are the keys whose keyspace IDs are frozen in
// testdata/hash_golden.txt. Add to the end; never change an existing line's
// expected ID: that would move stored rows to shards that do not hold them.
var goldenInputs = []struct {
	typ ColumnType
	v   string
}{
	{TypeBigint, "0"}, {TypeBigint, "1"}, {TypeBigint, "-1"}, {TypeBigint, "2"}, {TypeBigint, "42"},
	{TypeBigint, "100"}, {TypeBigint, "1000000"}, {TypeBigint, "-42"}, {TypeBigint, "255"}, {TypeBigint, "256"},
	{TypeBigint, strconv.FormatInt(math.MaxInt64, 10)}, {TypeBigint, strconv.FormatInt(math.MinInt64, 10)},
	{TypeBigint, strconv.FormatInt(math.MaxInt32, 10)}, {TypeBigint, strconv.FormatInt(math.MinInt32, 10)},
	{TypeBigint, "4294967296"}, {TypeBigint, "1234567890123"},
	{TypeInt, "42"}, {TypeSmallint, "-1"}, {TypeSmallint, "32767"},
	{TypeText, ""}, {TypeText, "a"}, {TypeText, "42"}, {TypeText, "alice"}, {TypeText, "Alice"},
	{TypeText, "alice "}, {TypeText, "héllo"}, {TypeText, "日本語"}, {TypeText, "emoji 🚀"},
	{TypeText, "The quick brown fox jumps over the lazy dog"}, {TypeText, "exactly sixteen!"}, {TypeText, "seventeen bytes!!"},
	{TypeUUID, "00000000-0000-0000-0000-000000000000"}, {TypeUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{TypeUUID, "ffffffff-ffff-ffff-ffff-ffffffffffff"}, {TypeUUID, "123e4567-e89b-12d3-a456-426614174000"},
}

func goldenID(t *testing.T, typ ColumnType, v string) KeyspaceID {
	t.Helper()
	k, err := Coerce(Postgres, typ, Text(v), Assign)
	if err != nil {
		t.Fatalf("%s %q: %v", typ, v, err)
	}
	return Hash{}.KeyspaceID(k)
}

func TestHashGoldenVectors(t *testing.T) {
	const path = "testdata/hash_golden.txt"
	if *update {
		var b strings.Builder
		b.WriteString("# type\tvalue (Go-quoted)\tkeyspace ID (hex): frozen; see hash.go\n")
		for _, in := range goldenInputs {
			fmt.Fprintf(&b, "%s\t%q\t%016x\n", in.typ, in.v, uint64(goldenID(t, in.typ, in.v)))
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			t.Fatalf("bad line %q", line)
		}
		typ, err := ParseColumnType(parts[0])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.Unquote(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		want, err := strconv.ParseUint(parts[2], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := goldenID(t, typ, v); uint64(got) != want {
			t.Errorf("%s %q: keyspace ID %016x, frozen as %016x — the hash encoding changed", typ, v, uint64(got), want)
		}
		n++
	}
	if n < 30 {
		t.Fatalf("only %d golden vectors, want at least 30", n)
	}
}

// The library itself against the published murmur3 x64_128 vectors, so a
// changed or broken dependency is caught apart from our encoding.
func TestMurmur3Reference(t *testing.T) {
	k, _ := Coerce(Postgres, TypeText, Text("The quick brown fox jumps over the lazy dog"), Compare)
	if got := (Hash{}).KeyspaceID(k); got != 0xe34bbc7bbc071b6c {
		t.Errorf("murmur3 x64_128 h1 = %016x", uint64(got))
	}
	e, _ := Coerce(Postgres, TypeText, Text(""), Compare)
	if got := (Hash{}).KeyspaceID(e); got != 0 {
		t.Errorf("murmur3 of empty input with seed 0 must be 0, got %x", uint64(got))
	}
}
