package parser

import "errors"

// PositionError carries the place in the statement text an error refers to,
// as Postgres reports it in the ErrorResponse field P: a 1-based count of
// characters (not bytes). Analyzers return a *sqlerr.Error whose cause
// (Err) is a *PositionError, so that front ends keep encoding one error type
// and can still point the client at the offending token.
type PositionError struct {
	Position int
	Err      error
}

func (e *PositionError) Error() string { return e.Err.Error() }

func (e *PositionError) Unwrap() error { return e.Err }

// ErrorPosition returns the 1-based character position carried by err's
// chain, or 0 if there is none.
func ErrorPosition(err error) int {
	var pe *PositionError
	if errors.As(err, &pe) {
		return pe.Position
	}
	return 0
}
