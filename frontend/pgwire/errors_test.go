package pgwire

import (
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func decodeError(t *testing.T, b []byte) *pgproto3.ErrorResponse {
	t.Helper()
	if len(b) < 5 || b[0] != 'E' || int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]) != len(b)-1 {
		t.Fatalf("bad framing: %q", b)
	}
	var e pgproto3.ErrorResponse
	if err := e.Decode(b[5:]); err != nil {
		t.Fatal(err)
	}
	return &e
}

func TestAppendError(t *testing.T) {
	e := sqlerr.New(sqlerr.UndefinedTable, `relation "%s" does not exist`, "t").
		WithDetail("no shard has it").WithHint("create it")
	prefix := []byte("prefix")
	b := AppendError(prefix, SeverityError, e)
	if string(b[:6]) != "prefix" {
		t.Fatal("dst not kept")
	}
	got := decodeError(t, b[6:])
	if got.Severity != "ERROR" || got.SeverityUnlocalized != "ERROR" || got.Code != "42P01" ||
		got.Message != `relation "t" does not exist` || got.Detail != "no shard has it" || got.Hint != "create it" {
		t.Fatalf("%+v", got)
	}

	// No detail or hint fields when unset; no cause text ever.
	e = sqlerr.New(sqlerr.SyntaxError, "bad").Wrap(errSecret{})
	b = AppendError(nil, SeverityFatal, e)
	if got := decodeError(t, b); got.Detail != "" || got.Hint != "" || got.Severity != "FATAL" {
		t.Fatalf("%+v", got)
	}
	if want := 5 + (1 + 6) + (1 + 6) + (1 + 6) + (1 + 4) + 1; len(b) != want {
		t.Fatalf("%d bytes, want %d", len(b), want)
	}

	// NUL bytes would end a field early: dropped.
	e = &sqlerr.Error{Message: "a\x00b", Detail: "\x00"}
	got = decodeError(t, AppendError(nil, SeverityError, e))
	if got.Message != "ab" || got.Code != sqlerr.InternalError || got.Detail != "" {
		t.Fatalf("%+v", got)
	}
}

type errSecret struct{}

func (errSecret) Error() string { return "10.0.0.1" }

func BenchmarkAppendError(b *testing.B) {
	e := sqlerr.New(sqlerr.UndefinedTable, `relation "t" does not exist`)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendError(buf[:0], SeverityError, e)
	}
}
