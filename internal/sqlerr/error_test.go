package sqlerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestNewFillsMySQLNumber(t *testing.T) {
	e := New(InvalidTextRepresentation, "invalid input syntax for type %s: %q", "bigint", "x")
	if e.Number != 1366 {
		t.Fatalf("number = %d, want 1366", e.Number)
	}
	if got, want := e.Error(), `22P02: invalid input syntax for type bigint: "x"`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if New("99999", "x").Number != erUnknownError {
		t.Fatal("unknown state must map to ER_UNKNOWN_ERROR")
	}
}

func TestAsThroughWrapping(t *testing.T) {
	base := New(FeatureNotSupported, "cross-shard join")
	wrapped := fmt.Errorf("route: %w", base)
	got, ok := As(wrapped)
	if !ok || got != base {
		t.Fatalf("As did not find the error: %v %v", got, ok)
	}
}

func TestFromHidesInternalText(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.7:5432: secret address")
	e := From(cause)
	if e.Code != InternalError || e.Message == cause.Error() {
		t.Fatalf("internal error leaked its cause: %+v", e)
	}
	if !errors.Is(e, cause) {
		t.Fatal("cause must stay reachable for logs")
	}
}

func TestWithDetailCopies(t *testing.T) {
	base := New(SyntaxError, "bad")
	d := base.WithDetail("near %q", "FROM").WithHint("try again")
	if base.Detail != "" || base.Hint != "" {
		t.Fatal("WithDetail/WithHint must not modify the receiver")
	}
	if d.Detail != `near "FROM"` || d.Hint != "try again" {
		t.Fatalf("got %+v", d)
	}
}
