package mysql

import (
	"errors"
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// MySQL's numbers for the errors this package returns.
const (
	erParseError      = 1064 // ER_PARSE_ERROR
	erNotSupportedYet = 1235 // ER_NOT_SUPPORTED_YET
	syntaxErrorState  = "42000"
)

// parseError turns a vitess parse error into the error MySQL itself would
// send for the text: 42000 / 1064, with vitess' position and token.
func parseError(err error) *sqlerr.Error {
	msg := err.Error()
	var pe sqlparser.PositionedErr
	if errors.As(err, &pe) {
		msg = pe.Error()
	}
	// vterrors prefix their text with "Code: INVALID_ARGUMENT\n".
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 && strings.HasPrefix(msg, "Code:") {
		msg = msg[i+1:]
	}
	return &sqlerr.Error{
		Code:    syntaxErrorState,
		Number:  erParseError,
		Message: "You have an error in your SQL syntax: " + msg,
		Err:     err,
	}
}

// lexError is the error for a text the tokenizer cannot read (an
// unterminated string or comment, a stray character).
func lexError(near string) *sqlerr.Error {
	near = strings.TrimSpace(near)
	if len(near) > 40 {
		near = near[:40]
	}
	return &sqlerr.Error{Code: syntaxErrorState, Number: erParseError,
		Message: "You have an error in your SQL syntax near '" + near + "'"}
}

// namedArgError: vitess reads :name as a bind variable; MySQL has none.
func namedArgError() *sqlerr.Error {
	return &sqlerr.Error{Code: syntaxErrorState, Number: erParseError,
		Message: "You have an error in your SQL syntax: parameters are written ?, not :name"}
}

// notSupported is a statement the analysis refuses (MySQL's
// ER_NOT_SUPPORTED_YET with SQLSTATE 0A000's meaning).
func notSupported(msg string) *sqlerr.Error {
	return &sqlerr.Error{Code: sqlerr.FeatureNotSupported, Number: erNotSupportedYet, Message: msg}
}
