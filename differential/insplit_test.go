package differential

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/shardmap"
)

var inList = regexp.MustCompile(`(?i)\bIN \(([^)]*)\)`)

// TestInListSplit: a statement whose key IN list spans shards sends each
// shard only its own values (EXPLAIN ROUTE shows the text each shard
// runs); the answers are checked by the corpus (in.sql).
func TestInListSplit(t *testing.T) {
	ctx := context.Background()
	c := connect(t, proxyURL["three"], pgx.QueryExecModeSimpleProtocol)
	values := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3000, -7}
	var list []string
	for _, v := range values {
		list = append(list, strconv.FormatInt(v, 10))
	}
	for _, stmt := range []string{
		"SELECT id, name FROM users WHERE id IN (" + strings.Join(list, ", ") + ") ORDER BY id",
		"SELECT level, count(*) FROM users WHERE id IN (" + strings.Join(list, ", ") + ") GROUP BY level HAVING count(*) > 1",
		"UPDATE users SET level = level WHERE id IN (" + strings.Join(list, ", ") + ")",
		"DELETE FROM orders WHERE user_id IN (" + strings.Join(list, ", ") + ") AND qty < 0",
	} {
		rows, err := c.Query(ctx, "EXPLAIN ROUTE "+stmt)
		if err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		var got []int64
		shards := 0
		for rows.Next() {
			var shard, target, reason, text *string
			if err := rows.Scan(&shard, &target, &reason, &text); err != nil {
				t.Fatal(err)
			}
			if shard == nil || *shard == "" || text == nil {
				continue // a merge or commit step
			}
			shards++
			m := inList.FindStringSubmatch(*text)
			if m == nil {
				t.Fatalf("%s: shard %s runs %q: no IN list", stmt, *shard, *text)
			}
			table := "users"
			if strings.Contains(stmt, "orders") {
				table = "orders"
			}
			for _, f := range strings.Split(m[1], ",") {
				v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
				if err != nil {
					t.Fatalf("%s: shard %s: value %q", stmt, *shard, f)
				}
				sh, err := snap.Lookup(shardmap.Postgres, "three", table, shardmap.Int(v))
				if err != nil {
					t.Fatal(err)
				}
				if sh.Name != *shard {
					t.Errorf("%s: shard %s got %d, which lives on %s", stmt, *shard, v, sh.Name)
				}
				got = append(got, v)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		if shards != 3 {
			t.Errorf("%s: %d shards, want 3", stmt, shards)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(values))
		if !slices.Equal(got, want) {
			t.Errorf("%s: the shards got %v together, want %v", stmt, got, want)
		}
	}
}

// TestInListUntypedParams: parameters the client leaves untyped (OID 0,
// as libpq-based drivers often do) in an IN list cut by shard, a HAVING
// and a write: each shard's text references only its parameters, so the
// server infers every type as it does for the client's text.
func TestInListUntypedParams(t *testing.T) {
	ctx := context.Background()
	plain := connect(t, plainURL, pgx.QueryExecModeSimpleProtocol)
	for _, ks := range []string{"two", "three"} {
		proxy := connect(t, proxyURL[ks], pgx.QueryExecModeSimpleProtocol)
		for _, q := range []struct {
			sql    string
			params []string
		}{
			{"SELECT id, name FROM users WHERE id IN ($1, $2, $3, $4) ORDER BY id", []string{"1", "2000", "3000", "4000"}},
			{"SELECT id FROM users WHERE name <> $1 AND id IN ($2, $3, $4) ORDER BY id LIMIT $5", []string{"x", "5", "6", "3999", "2"}},
			{"SELECT level, count(*) FROM users WHERE id IN ($2, $3, $4, $5, $6) GROUP BY level HAVING count(*) >= $1 ORDER BY level", []string{"1", "10", "20", "30", "40", "50"}},
			{"SELECT level FROM users GROUP BY level HAVING count(*) > $1 AND min(name) >= $2 ORDER BY level", []string{"400", ""}},
			{"UPDATE users SET level = level WHERE id IN ($1, $2, $3) RETURNING id", []string{"7", "70", "700"}},
		} {
			params := make([][]byte, len(q.params))
			for i, p := range q.params {
				params[i] = []byte(p)
			}
			want := plain.PgConn().ExecParams(ctx, q.sql, params, nil, nil, nil).Read()
			got := proxy.PgConn().ExecParams(ctx, q.sql, params, nil, nil, nil).Read()
			if want.Err != nil || got.Err != nil {
				t.Errorf("%s: %s: plain %v, proxy %v", ks, q.sql, want.Err, got.Err)
				continue
			}
			w, g := rowsText(want.Rows), rowsText(got.Rows)
			if !strings.Contains(q.sql, "ORDER BY") {
				slices.Sort(w)
				slices.Sort(g)
			}
			if !slices.Equal(w, g) || want.CommandTag.String() != got.CommandTag.String() {
				t.Errorf("%s: %s:\nwant %v %s\ngot  %v %s", ks, q.sql, w, want.CommandTag, g, got.CommandTag)
			}
		}
	}
}

func rowsText(rows [][][]byte) []string {
	var out []string
	for _, r := range rows {
		var fs []string
		for _, f := range r {
			if f == nil {
				fs = append(fs, "NULL")
			} else {
				fs = append(fs, string(f))
			}
		}
		out = append(out, strings.Join(fs, "|"))
	}
	return out
}
