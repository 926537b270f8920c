package sqlerr

import (
	"errors"
	"fmt"
)

// Error is a SQL error that both front ends can encode. Code is the SQLSTATE
// (Postgres' five characters, also sent by MySQL clients' protocol); Number is
// the MySQL error number.
type Error struct {
	Code    string // SQLSTATE, e.g. "22P02"
	Number  uint16 // MySQL error number, e.g. 1366
	Message string
	Detail  string
	Hint    string
	// Err is the cause, if any; it is never shown to clients.
	Err error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given class. The MySQL number is taken from
// the table of known SQLSTATEs (ER_UNKNOWN_ERROR if the state is not listed).
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Number: mysqlNumber(code), Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns a copy of e with Detail set.
func (e *Error) WithDetail(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

// WithHint returns a copy of e with Hint set.
func (e *Error) WithHint(format string, args ...any) *Error {
	c := *e
	c.Hint = fmt.Sprintf(format, args...)
	return &c
}

// Wrap returns a copy of e whose cause is err.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// From returns the *Error in err's chain, or an internal error (XX000) that
// hides err's text from the client: internal failures may carry addresses or
// other details that must not reach clients.
func From(err error) *Error {
	if e, ok := As(err); ok {
		return e
	}
	return &Error{Code: InternalError, Number: mysqlNumber(InternalError), Message: "internal error in shardgate", Err: err}
}
