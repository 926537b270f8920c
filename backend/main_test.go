package backend

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/sandbox"
)

// pg is the one-node Postgres the integration tests share; nil when
// Postgres is unavailable or with -short.
var pg *sandbox.Cluster

const (
	testUser     = "app"
	testPassword = "app-secret-pw"
)

func TestMain(m *testing.M) {
	flag.Parse()
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		if testing.Short() {
			return nil, nil
		}
		if err := sandbox.Available(sandbox.Postgres); err != nil {
			fmt.Printf("backend: Postgres unavailable, integration tests will skip: %v\n", err)
			return nil, nil
		}
		c, err := sandbox.StartPostgres(ctx, sandbox.Spec{
			Users:    []sandbox.User{{Name: testUser, Password: testPassword}},
			Settings: map[string]string{"max_connections": "100"},
		})
		if err != nil {
			return nil, err
		}
		pg = c
		return c.Stop, nil
	})
}

func node(t testing.TB) *sandbox.Node {
	t.Helper()
	if pg == nil {
		t.Skip("no sandbox Postgres")
	}
	return pg.Shards[0].Primary
}

var appSeq atomic.Int64

// dialOptions logs in as the test user with an application_name unique to
// the test, so that pg_stat_activity can count this test's connections.
func dialOptions(t testing.TB) DialOptions {
	n := node(t)
	return DialOptions{
		Node:           n.Name,
		Host:           n.Host,
		Port:           n.Port,
		User:           testUser,
		Password:       testPassword,
		Database:       pg.Database,
		TLS:            TLSDisable,
		ConnectTimeout: 5 * time.Second,
		RuntimeParams:  map[string]string{"application_name": "sg-test-" + strconv.FormatInt(appSeq.Add(1), 10)},
	}
}

// admin runs one query as the superuser and returns the first column of
// each row.
func admin(t testing.TB, sql string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, node(t).AdminDSN(pg.Database))
	if err != nil {
		t.Fatalf("admin connect: %v", err)
	}
	defer c.Close(context.Background())
	res, err := c.Exec(ctx, sql).ReadAll()
	if err != nil {
		t.Fatalf("admin %q: %v", sql, err)
	}
	var out []string
	for _, r := range res {
		for _, row := range r.Rows {
			out = append(out, string(row[0]))
		}
	}
	return out
}

// serverConns counts the server processes of the application name.
func serverConns(t testing.TB, app string) int {
	t.Helper()
	n, _ := strconv.Atoi(admin(t, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"+app+"'")[0])
	return n
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// message is one server message, copied.
type message struct {
	typ  byte
	body []byte
}

// roundTrip sends a simple Query and reads the responses up to
// ReadyForQuery, updating the connection's transaction status.
func roundTrip(t testing.TB, c *Conn, sql string) []message {
	t.Helper()
	w := c.Writer()
	w.WriteQuery(sql)
	if err := w.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return readUntilReady(t, c)
}

func readUntilReady(t testing.TB, c *Conn) []message {
	t.Helper()
	var out []message
	for {
		typ, body, err := c.Reader().ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, message{typ, append([]byte(nil), body...)})
		if typ == pgio.TypeReadyForQuery {
			s, err := pgio.DecodeReadyForQuery(body)
			if err != nil {
				t.Fatal(err)
			}
			c.SetTxStatus(s)
			return out
		}
	}
}

// queryValue runs sql and returns the first column of its first row.
func queryValue(t testing.TB, c *Conn, sql string) string {
	t.Helper()
	for _, m := range roundTrip(t, c, sql) {
		switch m.typ {
		case pgio.TypeDataRow:
			n := int(m.body[2])<<24 | int(m.body[3])<<16 | int(m.body[4])<<8 | int(m.body[5])
			return string(m.body[6 : 6+n])
		case pgio.TypeErrorResponse:
			f, _ := pgio.DecodeErrorFields(m.body)
			t.Fatalf("%q: %v", sql, &f)
		}
	}
	t.Fatalf("%q returned no row", sql)
	return ""
}

func types(ms []message) string {
	b := make([]byte, len(ms))
	for i, m := range ms {
		b[i] = m.typ
	}
	return string(b)
}
