package executor

import (
	"fmt"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// divisionByZero is Postgres' SQLSTATE 22012; internal/sqlerr does not
// list it (yet).
const divisionByZero = "22012"

func errOutOfRange(typ string) error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "%s out of range", typ)
}

func errDivisionByZero() error {
	return sqlerr.New(divisionByZero, "division by zero")
}

func errNotAddable(a, b Kind) error {
	return sqlerr.New(sqlerr.InternalError, "cannot add partial aggregates of kinds %s and %s", a, b)
}

// errSpec is a Merge the rows do not fit: a bug of the rewrite, not of
// the user.
func errSpec(format string, args ...any) error {
	return sqlerr.New(sqlerr.InternalError, "cross-shard merge: %s", fmt.Sprintf(format, args...))
}

// StreamError is an error a shard's Stream returned, with the index of the
// stream, so that the session knows which server connection failed.
type StreamError struct {
	Shard int
	Err   error
}

func (e *StreamError) Error() string { return fmt.Sprintf("shard stream %d: %v", e.Shard, e.Err) }

func (e *StreamError) Unwrap() error { return e.Err }
