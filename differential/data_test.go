package differential

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/shardgate/shardgate/shardmap"
)

const schema = `
CREATE TABLE users (
	id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL,
	balance numeric(12,2) NOT NULL, created date NOT NULL, score float8,
	nickname text, level int NOT NULL);
CREATE TABLE orders (
	id bigint NOT NULL, user_id bigint NOT NULL, amount numeric(12,2) NOT NULL,
	status text, qty int NOT NULL, product_id bigint NOT NULL, ratio numeric,
	PRIMARY KEY (user_id, id));
CREATE TABLE events (id bigint NOT NULL, user_id bigint NOT NULL, kind text, PRIMARY KEY (user_id, id));
CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,3) NOT NULL, category text);
`

// Names mix case, accents, other scripts and the empty string, so that
// text ordering is tested in byte order (the sandbox's C.UTF-8).
var names = []string{
	"alice", "Alice", "bob", "Bob", "carol", "dave", "Eve", "eve", "zoe", "Zoë",
	"éclair", "Ångström", "émile", "北京", "東京", "😀smile", "", " lead", "a b", "a-b",
	"a_b", "O'Brien", "mallory", "trent", "peggy", "victor", "walter", "x", "X", "ñandú",
}

var statuses = []string{"new", "paid", "shipped", "cancelled"}

// special users hold the float8 values whose order and equality are
// peculiar; queries exclude them with id < 900000 unless they test them.
var specialScores = map[int64]string{
	900001: "NaN", 900002: "Infinity", 900003: "-Infinity", 900004: "-0",
}

type table struct {
	name string
	rows [][]string // COPY text fields; "\\N" is NULL
	key  []int64    // sharding key of each row; nil for a reference table
}

// generate makes the data set, the same every run.
func generate() []*table {
	r := rand.New(rand.NewSource(6))
	users := &table{name: "users"}
	orders := &table{name: "orders"}
	products := &table{name: "products"}
	events := &table{name: "events"}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []int64
	for i := int64(-20); i <= 4000; i++ {
		if i != 0 {
			ids = append(ids, i)
		}
	}
	for id := int64(900001); id <= 900004; id++ {
		ids = append(ids, id)
	}
	var orderID int64
	for _, id := range ids {
		name := names[r.Intn(len(names))]
		cents := r.Int63n(10_100_000) - 100_000
		score := "\\N"
		if r.Intn(10) > 0 {
			// Multiples of 1/4: sums are exact in any order. Never 0,
			// so that -0 (a special user) has no equal of another
			// spelling.
			f := float64(r.Intn(40000))/4 - 1000
			if f == 0 {
				f = 0.25
			}
			score = fmt.Sprint(f)
		}
		if s, ok := specialScores[id]; ok {
			score = s
		}
		nick := "\\N"
		if r.Intn(10) >= 3 {
			nick = names[r.Intn(len(names))]
		}
		users.rows = append(users.rows, []string{
			fmt.Sprint(id), name, fmt.Sprintf("u%d@%s.example", id, []string{"a", "b", "c"}[r.Intn(3)]),
			money(cents), base.AddDate(0, 0, r.Intn(2000)).Format("2006-01-02"), score, nick,
			fmt.Sprint(1 + r.Intn(10)),
		})
		users.key = append(users.key, id)
		for range r.Intn(5) {
			orderID++
			status := "\\N"
			if r.Intn(20) > 0 {
				status = statuses[r.Intn(len(statuses))]
			}
			// The scale follows the integer part, so that equal values
			// are spelled alike (5.1 and 5.10 are equal; which one
			// DISTINCT or max keeps is unspecified).
			ip := r.Intn(100)
			ratio := fmt.Sprint(ip)
			if d := ip % 5; d > 0 {
				ratio += "." + fmt.Sprintf("%0*d", d, r.Intn(pow10(d)))
			}
			if r.Intn(10) == 0 {
				ratio = "\\N"
			}
			orders.rows = append(orders.rows, []string{
				fmt.Sprint(orderID), fmt.Sprint(id), money(r.Int63n(100_000)), status,
				fmt.Sprint(1 + r.Intn(20)), fmt.Sprint(1 + r.Intn(40)), ratio,
			})
			orders.key = append(orders.key, id)
		}
	}
	for id := 1; id <= 40; id++ {
		cat := "\\N"
		if id%7 != 0 {
			cat = []string{"a", "b", "c"}[id%3]
		}
		products.rows = append(products.rows, []string{
			fmt.Sprint(id), fmt.Sprintf("product-%02d", 41-id), fmt.Sprintf("%d.%03d", r.Intn(500), r.Intn(1000)), cat,
		})
	}
	return []*table{users, orders, products, events}
}

func pow10(d int) int {
	n := 1
	for range d {
		n *= 10
	}
	return n
}

func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// load copies the data into the plain database and, each row to the shard
// its key maps to (reference tables to every shard), into the keyspaces.
func load(ctx context.Context) error {
	tables := generate()
	var g errgroup.Group
	g.Go(func() error {
		return copyInto(ctx, cluster.Shards[0].Primary.DSN("app", "app", "plain"), tables, nil)
	})
	for _, k := range keyspaces {
		for i := range k.ranges {
			keep := func(t *table, row int) (bool, error) {
				if t.key == nil {
					return true, nil
				}
				sh, err := snap.Lookup(shardmap.Postgres, k.name, t.name, shardmap.Int(t.key[row]))
				if err != nil {
					return false, err
				}
				return sh.Index == i, nil
			}
			dsn := cluster.Shards[i].Primary.DSN("app", "app", k.name)
			g.Go(func() error { return copyInto(ctx, dsn, tables, keep) })
		}
	}
	return g.Wait()
}

func copyInto(ctx context.Context, dsn string, tables []*table, keep func(*table, int) (bool, error)) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, t := range tables {
		var b strings.Builder
		for i, row := range t.rows {
			if keep != nil {
				ok, err := keep(t, i)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			b.WriteString(strings.Join(row, "\t"))
			b.WriteByte('\n')
		}
		if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader(b.String()), "COPY "+t.name+" FROM STDIN"); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	_, err = c.Exec(ctx, "ANALYZE")
	return err
}
