package mysqltest

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"
)

// Server-side prepared statements (go-sql-driver without
// interpolateParams) round-trip every kind of value exactly, on each
// shard, in clear text and over TLS (where the proxy reads the unsigned
// marks vitess loses too); MariaDB's INSERT … RETURNING prepares and runs.
func TestPreparedValuesRoundTrip(t *testing.T) {
	for _, params := range []string{"parseTime=true&loc=UTC", "parseTime=true&loc=UTC&tls=skip-verify"} {
		t.Run(params, func(t *testing.T) { preparedValuesRoundTrip(t, params) })
	}
}

func preparedValuesRoundTrip(t *testing.T, params string) {
	ctx := context.Background()
	c := conn(t, params)
	if tls := one(t, c, "SELECT 1 FROM DUAL WHERE 1 = ?", 1); tls != "1" {
		t.Fatal(tls)
	}
	ts := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	for _, id := range idsOnEachShard(t, 10000) {
		execOK(t, c, "DELETE FROM vals WHERE id = ?", id)
		execOK(t, c, "INSERT INTO vals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			id, uint64(math.MaxUint64), int64(-42), "12345678901234.123456", ts, []byte{0, 255, 1, '\'', '\\'}, "emoji 😀 '\\\" ok", nil)
		var (
			u    uint64
			n    int64
			d    string
			gotT time.Time
			b    []byte
			s    string
			z    *string
		)
		err := c.QueryRowContext(ctx, "SELECT u, n, d, ts, b, s, z FROM vals WHERE id = ?", id).Scan(&u, &n, &d, &gotT, &b, &s, &z)
		if err != nil {
			t.Fatal(err)
		}
		if u != math.MaxUint64 || n != -42 || d != "12345678901234.123456" || !gotT.Equal(ts) ||
			!bytes.Equal(b, []byte{0, 255, 1, '\'', '\\'}) || s != "emoji 😀 '\\\" ok" || z != nil {
			t.Fatalf("id %d: got %d %d %s %s %x %q %v", id, u, n, d, gotT, b, s, z)
		}
		for _, v := range []struct {
			u uint64
			n int64
		}{{1 << 63, math.MinInt64}, {1<<63 - 1, math.MaxInt64}, {0, -1}, {math.MaxUint32 + 1, math.MinInt32 - 1}} {
			execOK(t, c, "UPDATE vals SET u = ?, n = ? WHERE id = ?", v.u, v.n, id)
			if err := c.QueryRowContext(ctx, "SELECT u, n FROM vals WHERE id = ? AND u = ? AND n = ?", id, v.u, v.n).Scan(&u, &n); err != nil || u != v.u || n != v.n {
				t.Fatalf("id %d: %d %d stored as %d %d (%v)", id, v.u, v.n, u, n, err)
			}
		}
		var rid int64
		var rs string
		execOK(t, c, "DELETE FROM vals WHERE id = ?", id+1)
		// id+1 may be on the other shard: routed by its own key.
		if err := c.QueryRowContext(ctx, "INSERT INTO vals (id, s) VALUES (?, ?) RETURNING id, s", id+1, "returned").Scan(&rid, &rs); err != nil {
			t.Fatal(err)
		}
		if rid != id+1 || rs != "returned" {
			t.Fatalf("RETURNING: %d %q", rid, rs)
		}
	}
}
