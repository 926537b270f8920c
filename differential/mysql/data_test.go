package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shardgate/shardgate/shardmap"
)

// The tables take MariaDB 10.11's default collation, utf8mb4_general_ci
// (case- and accent-insensitive, PAD SPACE), as most applications do:
// text keys are then not in byte order, which the endpoint must refuse to
// merge. bname holds name's bytes as VARBINARY, whose order is bytewise.
const schema = `
CREATE TABLE users (
	id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, bname VARBINARY(160) NOT NULL,
	email VARCHAR(80) NOT NULL, balance DECIMAL(12,2) NOT NULL, created DATE NOT NULL,
	score DOUBLE NULL, nickname VARCHAR(40) NULL, level INT NOT NULL,
	updated DATETIME(6) NULL, u BIGINT UNSIGNED NULL, active TINYINT(1) NOT NULL,
	dur TIME NULL) ENGINE=InnoDB;
CREATE TABLE orders (
	id BIGINT NOT NULL, user_id BIGINT NOT NULL, amount DECIMAL(12,2) NOT NULL,
	status VARCHAR(20) NULL, qty INT NOT NULL, product_id BIGINT NOT NULL,
	ratio DECIMAL(10,4) NULL, placed DATETIME NULL,
	PRIMARY KEY (user_id, id), KEY (id)) ENGINE=InnoDB;
CREATE TABLE kinds (
	id BIGINT PRIMARY KEY, y YEAR NULL, f FLOAT NULL, bt BIT(8) NULL,
	e ENUM('red','green','blue') NULL, st SET('a','b','c') NULL, ts TIMESTAMP(3) NULL,
	mi MEDIUMINT NULL, su SMALLINT UNSIGNED NULL, big DECIMAL(30,10) NULL, t3 TIME(3) NULL,
	cb CHAR(5) COLLATE utf8mb4_bin NULL, vb VARCHAR(20) COLLATE utf8mb4_bin NULL, j JSON NULL,
	bl BLOB NULL, tiny TINYINT NULL, dbl DOUBLE(10,3) NULL) ENGINE=InnoDB;
CREATE TABLE products (
	id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,3) NOT NULL,
	category VARCHAR(10) NULL) ENGINE=InnoDB;
`

// Names mix case, accents, other scripts, trailing and leading blanks and
// the empty string: equal under utf8mb4_general_ci is not equal in bytes.
var names = []string{
	"alice", "Alice", "bob", "Bob", "carol", "dave", "Eve", "eve", "zoe", "Zoë",
	"éclair", "Ångström", "émile", "北京", "東京", "😀smile", "", " lead", "a b", "a-b",
	"a_b", "O'Brien", "mallory", "trent", "peggy", "victor", "walter", "x", "X", "ñandú",
	"a", "a ", "back\\slash",
}

var statuses = []string{"new", "paid", "shipped", "cancelled"}

type table struct {
	name string
	rows []string // SQL value tuples "(…)"
	key  []int64  // sharding key of each row; nil for a reference table
}

// generate makes the data set, the same every run: 4,020 users, about
// 8,000 orders, 2,000 rows of kinds (the other MariaDB types), 40
// products.
func generate() []*table {
	r := rand.New(rand.NewSource(8))
	users := &table{name: "users"}
	orders := &table{name: "orders"}
	products := &table{name: "products"}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var orderID int64
	for id := int64(-20); id <= 4000; id++ {
		if id == 0 {
			continue
		}
		name := names[r.Intn(len(names))]
		cents := r.Int63n(10_100_000) - 100_000
		// Multiples of 1/4: sums are exact in any order.
		score := "NULL"
		if r.Intn(10) > 0 {
			f := float64(r.Intn(40000))/4 - 1000
			score = fmt.Sprint(f)
		}
		nick := "NULL"
		if r.Intn(10) >= 3 {
			nick = quote(names[r.Intn(len(names))])
		}
		updated := "NULL"
		if r.Intn(6) > 0 {
			updated = quote(base.Add(time.Duration(r.Int63n(5 * 365 * 24 * int64(time.Hour)))).Add(time.Duration(r.Intn(1_000_000)) * time.Microsecond).Format("2006-01-02 15:04:05.000000"))
		}
		u := "NULL"
		switch r.Intn(5) {
		case 0:
		case 1:
			u = fmt.Sprint(uint64(1)<<63 + uint64(r.Int63n(1000)))
		default:
			u = fmt.Sprint(r.Intn(1000))
		}
		dur := "NULL"
		if r.Intn(4) > 0 {
			dur = quote(fmt.Sprintf("%d:%02d:%02d", r.Intn(200)-100, r.Intn(60), r.Intn(60)))
		}
		users.rows = append(users.rows, fmt.Sprintf("(%d, %s, %s, %s, %s, %s, %s, %s, %d, %s, %s, %d, %s)",
			id, quote(name), "X'"+fmt.Sprintf("%x", name)+"'",
			quote(fmt.Sprintf("u%d@%s.example", id, []string{"a", "b", "c"}[r.Intn(3)])),
			money(cents), quote(base.AddDate(0, 0, r.Intn(2000)).Format("2006-01-02")), score, nick,
			1+r.Intn(10), updated, u, r.Intn(2), dur))
		users.key = append(users.key, id)
		for range r.Intn(5) {
			orderID++
			status := "NULL"
			if r.Intn(20) > 0 {
				status = quote(statuses[r.Intn(len(statuses))])
			}
			ratio := "NULL"
			if r.Intn(10) > 0 {
				ratio = fmt.Sprintf("%d.%04d", r.Intn(100), r.Intn(10000))
			}
			placed := "NULL"
			if r.Intn(8) > 0 {
				placed = quote(base.Add(time.Duration(r.Int63n(5*365*24*3600)) * time.Second).Format("2006-01-02 15:04:05"))
			}
			orders.rows = append(orders.rows, fmt.Sprintf("(%d, %d, %s, %s, %d, %d, %s, %s)",
				orderID, id, money(r.Int63n(100_000)), status, 1+r.Intn(20), 1+r.Intn(40), ratio, placed))
			orders.key = append(orders.key, id)
		}
	}
	kinds := &table{name: "kinds"}
	colors := []string{"red", "green", "blue"}
	for id := int64(1); id <= 2000; id++ {
		v := func(f func() string) string {
			if r.Intn(6) == 0 {
				return "NULL"
			}
			return f()
		}
		kinds.rows = append(kinds.rows, fmt.Sprintf("(%d, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", id,
			v(func() string { return fmt.Sprint(1990 + r.Intn(40)) }),
			v(func() string { return fmt.Sprint(float64(r.Intn(4000))/8 - 250) }),
			v(func() string { return fmt.Sprintf("b'%08b'", r.Intn(256)) }),
			v(func() string { return quote(colors[r.Intn(3)]) }),
			v(func() string { return quote([]string{"", "a", "b", "a,b", "c", "a,c", "b,c", "a,b,c"}[r.Intn(8)]) }),
			v(func() string {
				return quote(base.Add(time.Duration(r.Int63n(4*365*24*3600))*time.Second + time.Duration(r.Intn(1000))*time.Millisecond).Format("2006-01-02 15:04:05.000"))
			}),
			v(func() string { return fmt.Sprint(r.Intn(16_000_000) - 8_000_000) }),
			v(func() string { return fmt.Sprint(r.Intn(65536)) }),
			v(func() string { return fmt.Sprintf("%d.%010d", r.Int63n(1e15)-5e14, r.Int63n(1e10)) }),
			v(func() string {
				return quote(fmt.Sprintf("%d:%02d:%02d.%03d", r.Intn(1600)-800, r.Intn(60), r.Intn(60), r.Intn(1000)))
			}),
			v(func() string { return quote([]string{"a", "a ", "b", "ab", "", "Z", "é"}[r.Intn(7)]) }),
			v(func() string { return quote([]string{"a", "a ", "b", "ab", "", "Z", "é", "a\t"}[r.Intn(8)]) }),
			v(func() string { return quote(fmt.Sprintf(`{"k": %d, "s": "x%d"}`, r.Intn(50), r.Intn(5))) }),
			v(func() string { return fmt.Sprintf("X'%x'", []byte{byte(r.Intn(256)), byte(r.Intn(256))}[:1+r.Intn(2)]) }),
			v(func() string { return fmt.Sprint(r.Intn(256) - 128) }),
			v(func() string { return fmt.Sprintf("%.3f", float64(r.Intn(160000))/8-10000) }), // multiples of 1/8: sums exact
		))
		kinds.key = append(kinds.key, id)
	}
	for id := 1; id <= 40; id++ {
		cat := "NULL"
		if id%7 != 0 {
			cat = quote([]string{"a", "b", "c"}[id%3])
		}
		products.rows = append(products.rows, fmt.Sprintf("(%d, %s, %d.%03d, %s)",
			id, quote(fmt.Sprintf("product-%02d", 41-id)), r.Intn(500), r.Intn(1000), cat))
	}
	return []*table{users, orders, kinds, products}
}

// quote is a MySQL string literal for the default sql_mode.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// load writes the data into the plain database and, each row to the shard
// its key maps to (reference tables to every shard), into the keyspaces.
func load(ctx context.Context) error {
	tables := generate()
	var g errgroup.Group
	g.Go(func() error {
		return insertInto(ctx, cluster.Shards[0].Primary.DSN("app", "app", "plain"), tables, nil)
	})
	for _, k := range keyspaces {
		for i := range k.ranges {
			keep := func(t *table, row int) (bool, error) {
				if t.key == nil {
					return true, nil
				}
				sh, err := snap.Lookup(shardmap.MySQL, k.name, t.name, shardmap.Int(t.key[row]))
				if err != nil {
					return false, err
				}
				return sh.Index == i, nil
			}
			dsn := cluster.Shards[i].Primary.DSN("app", "app", k.name)
			g.Go(func() error { return insertInto(ctx, dsn, tables, keep) })
		}
	}
	return g.Wait()
}

func insertInto(ctx context.Context, dsn string, tables []*table, keep func(*table, int) (bool, error)) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, t := range tables {
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			_, err := db.ExecContext(ctx, "INSERT INTO "+t.name+" VALUES "+strings.Join(batch, ", "))
			batch = batch[:0]
			if err != nil {
				return fmt.Errorf("insert into %s: %w", t.name, err)
			}
			return nil
		}
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
			batch = append(batch, row)
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	_, err = db.ExecContext(ctx, "ANALYZE TABLE users, orders, kinds, products")
	return err
}
