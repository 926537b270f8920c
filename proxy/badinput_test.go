package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

func TestAuthFailuresLookAlike(t *testing.T) {
	ctx := context.Background()
	_, wrongPw := pgx.Connect(ctx, strings.Replace(proxyURL, "app:app@", "app:nope@", 1))
	_, unknown := pgx.Connect(ctx, strings.Replace(proxyURL, "app:app@", "mallory:nope@", 1))
	var a, b *pgconn.PgError
	if !asPgError(wrongPw, &a) || !asPgError(unknown, &b) {
		t.Fatalf("want server errors, got %v / %v", wrongPw, unknown)
	}
	if a.Code != "28P01" || b.Code != "28P01" || a.Severity != "FATAL" {
		t.Fatalf("codes: %s %s", a.Code, b.Code)
	}
	if strings.Replace(a.Message, `"app"`, `"X"`, 1) != strings.Replace(b.Message, `"mallory"`, `"X"`, 1) {
		t.Fatalf("a wrong password and an unknown user must read alike: %q vs %q", a.Message, b.Message)
	}
	// An unknown database.
	_, err := pgx.Connect(ctx, strings.Replace(proxyURL, "/app?", "/nodb?", 1))
	if pgCode(err) != "3D000" {
		t.Fatalf("unknown database: %v", err)
	}
}

func asPgError(err error, out **pgconn.PgError) bool {
	return errors.As(err, out)
}

// rawSession logs in with pgconn and returns the bare socket after
// ReadyForQuery, to send what no driver would.
func rawSession(t *testing.T) (*pgconn.HijackedConn, *pgproto3.Frontend) {
	t.Helper()
	return rvRaw(t, proxyURL)
}

// readError reads until an ErrorResponse and returns it.
func readError(t *testing.T, fe *pgproto3.Frontend) *pgproto3.ErrorResponse {
	t.Helper()
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("no error response: %v", err)
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			return e
		}
	}
}

func TestMalformedAndOversizedMessages(t *testing.T) {
	cases := map[string][]byte{
		"unknown type":   {'z', 0, 0, 0, 4},
		"bad length":     {'Q', 0, 0, 0, 2},
		"oversized":      {'Q', 0x7f, 0xff, 0xff, 0xff},
		"bad bind":       {'B', 0, 0, 0, 6, 'x', 'y'},
		"unterminated Q": {'Q', 0, 0, 0, 7, 'a', 'b', 'c'},
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			hj, fe := rawSession(t)
			if _, err := hj.Conn.Write(raw); err != nil {
				t.Fatal(err)
			}
			e := readError(t, fe)
			if e.Code != "08P01" {
				t.Fatalf("%s: %s %s %s", name, e.Severity, e.Code, e.Message)
			}
			// Another client is unaffected.
			c := connect(t, pgx.QueryExecModeExec)
			var one int
			if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A Bind whose statement does not exist is an ERROR, not the end of the
// session: the client resyncs at Sync.
func TestExtendedErrorRecovery(t *testing.T) {
	hj, fe := rawSession(t)
	buf, _ := (&pgproto3.Bind{PreparedStatement: "nope"}).Encode(nil)
	buf, _ = (&pgproto3.Execute{}).Encode(buf)
	buf, _ = (&pgproto3.Parse{Query: "SELECT 1"}).Encode(buf) // skipped: after the error, until Sync
	buf, _ = (&pgproto3.Sync{}).Encode(buf)
	buf, _ = (&pgproto3.Parse{Query: "SELECT 2"}).Encode(buf)
	buf, _ = (&pgproto3.Bind{}).Encode(buf)
	buf, _ = (&pgproto3.Execute{}).Encode(buf)
	buf, _ = (&pgproto3.Sync{}).Encode(buf)
	if _, err := hj.Conn.Write(buf); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 8 {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			got = append(got, "E"+m.Code)
		case *pgproto3.ReadyForQuery:
			got = append(got, "Z"+string(m.TxStatus))
		case *pgproto3.ParseComplete:
			got = append(got, "1")
		case *pgproto3.BindComplete:
			got = append(got, "2")
		case *pgproto3.DataRow:
			got = append(got, "D"+string(m.Values[0]))
		case *pgproto3.CommandComplete:
			got = append(got, "C")
		}
		if len(got) == 7 {
			break
		}
	}
	want := "E26000 ZI 1 2 D2 C ZI"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	_ = binary.BigEndian
	_ = io.EOF
}

// A server's error reaches the client with every field: SQLSTATE, detail,
// hint, position, constraint.
func TestServerErrorFieldsIntact(t *testing.T) {
	cleanUsers(t, 55555, 55555)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeExec)
	var pe *pgconn.PgError
	_, err := c.Exec(ctx, "SELECT nocol FROM users WHERE id = 1")
	if !errors.As(err, &pe) || pe.Code != "42703" || pe.Position != 8 {
		t.Fatalf("undefined column: %+v", err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES (55555, 'a')"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, "INSERT INTO users (id, name) VALUES (55555, 'b')")
	if !errors.As(err, &pe) || pe.Code != "23505" || pe.ConstraintName != "users_pkey" || !strings.Contains(pe.Detail, "55555") {
		t.Fatalf("duplicate key: %+v", err)
	}
}

// A syntax error the proxy finds points at its token, like Postgres'.
func TestSyntaxErrorPosition(t *testing.T) {
	c := connect(t, pgx.QueryExecModeExec)
	var pe *pgconn.PgError
	_, err := c.Exec(context.Background(), "SELECT * FRM users")
	if !errors.As(err, &pe) || pe.Code != "42601" || pe.Position != 10 {
		t.Fatalf("got %+v", err)
	}
}

// Portals with a row limit: Execute(2) suspends, the next Execute goes on
// where it stopped, on the same server connection.
func TestPortalRowLimit(t *testing.T) {
	hj, fe := rawSession(t)
	buf, _ := (&pgproto3.Parse{Query: "SELECT g FROM generate_series(1, 5) g"}).Encode(nil)
	buf, _ = (&pgproto3.Bind{}).Encode(buf)
	buf, _ = (&pgproto3.Execute{MaxRows: 2}).Encode(buf)
	buf, _ = (&pgproto3.Execute{MaxRows: 2}).Encode(buf)
	buf, _ = (&pgproto3.Execute{}).Encode(buf)
	buf, _ = (&pgproto3.Sync{}).Encode(buf)
	if _, err := hj.Conn.Write(buf); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			got = append(got, string(m.Values[0]))
		case *pgproto3.PortalSuspended:
			got = append(got, "s")
		case *pgproto3.CommandComplete:
			got = append(got, string(m.CommandTag))
		case *pgproto3.ErrorResponse:
			t.Fatalf("error: %s", m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if want := "1 2 s 3 4 s 5 SELECT 1"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// The startup "options" parameter (PGOPTIONS) applies settings.
func TestStartupOptions(t *testing.T) {
	cfg, err := pgx.ParseConfig(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["options"] = "-c statement_timeout=4321 --lock_timeout=1234"
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var st, lt string
	if err := c.QueryRow(context.Background(), "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')").Scan(&st, &lt); err != nil {
		t.Fatal(err)
	}
	if st != "4321ms" || lt != "1234ms" {
		t.Fatalf("statement_timeout %q, lock_timeout %q", st, lt)
	}
}
