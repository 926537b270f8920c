package pgio

import (
	"bytes"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Severity is the severity of an error or notice the proxy itself sends.
type Severity uint8

const (
	SeverityError Severity = iota // the statement failed; the session goes on
	SeverityFatal                 // the session ends
	SeverityPanic
	SeverityWarning
	SeverityNotice
	SeverityDebug
	SeverityInfo
	SeverityLog
)

var severityNames = [...]string{"ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", "DEBUG", "INFO", "LOG"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "ERROR"
}

// ErrorFields are the fields of an ErrorResponse or NoticeResponse, exactly
// as the server sent them (numbers such as Position stay text). Fields the
// protocol may add later are kept in Unknown, in the order received.
type ErrorFields struct {
	Severity            string // S: localized
	SeverityUnlocalized string // V
	Code                string // C: SQLSTATE
	Message             string // M
	Detail              string // D
	Hint                string // H
	Position            string // P: 1-based character index into the query
	InternalPosition    string // p
	InternalQuery       string // q
	Where               string // W
	SchemaName          string // s
	TableName           string // t
	ColumnName          string // c
	DataTypeName        string // d
	ConstraintName      string // n
	File                string // F
	Line                string // L
	Routine             string // R
	Unknown             []ErrorField
}

// ErrorField is one field of an ErrorResponse that ErrorFields has no name
// for.
type ErrorField struct {
	Type  byte
	Value string
}

// Error makes a server's error usable as a Go error, formatted like
// pgconn's PgError.
func (f *ErrorFields) Error() string {
	sev := f.Severity
	if sev == "" {
		sev = f.SeverityUnlocalized
	}
	return sev + ": " + f.Message + " (SQLSTATE " + f.Code + ")"
}

// SQLError returns the typed SQL error for f. Its cause is f itself, so a
// front end that encodes it with AppendErrorResponse keeps every field the
// server sent (position, where, constraint, ...).
func (f *ErrorFields) SQLError() *sqlerr.Error {
	code := f.Code
	if code == "" {
		code = sqlerr.InternalError
	}
	e := sqlerr.New(code, "%s", f.Message)
	e.Detail, e.Hint, e.Err = f.Detail, f.Hint, f
	return e
}

// fieldRefs pairs each named field's type byte with its place in f, in the
// order Postgres sends them.
func (f *ErrorFields) fieldRefs() [18]struct {
	t byte
	v *string
} {
	return [18]struct {
		t byte
		v *string
	}{
		{'S', &f.Severity}, {'V', &f.SeverityUnlocalized}, {'C', &f.Code}, {'M', &f.Message},
		{'D', &f.Detail}, {'H', &f.Hint}, {'P', &f.Position}, {'p', &f.InternalPosition},
		{'q', &f.InternalQuery}, {'W', &f.Where}, {'s', &f.SchemaName}, {'t', &f.TableName},
		{'c', &f.ColumnName}, {'d', &f.DataTypeName}, {'n', &f.ConstraintName}, {'F', &f.File},
		{'L', &f.Line}, {'R', &f.Routine},
	}
}

// DecodeErrorFields decodes the body of an ErrorResponse or
// NoticeResponse. The strings are copies: the result outlives the body.
func DecodeErrorFields(body []byte) (ErrorFields, error) {
	var f ErrorFields
	refs := f.fieldRefs()
	for {
		if len(body) == 0 {
			return ErrorFields{}, malformed("ErrorResponse", "missing terminator")
		}
		t := body[0]
		if t == 0 {
			if len(body) != 1 {
				return ErrorFields{}, malformed("ErrorResponse", "data after terminator")
			}
			return f, nil
		}
		i := bytes.IndexByte(body[1:], 0)
		if i < 0 {
			return ErrorFields{}, malformed("ErrorResponse", "unterminated field")
		}
		v := string(body[1 : 1+i])
		body = body[2+i:]
		known := false
		for _, r := range refs {
			if r.t == t {
				*r.v, known = v, true
				break
			}
		}
		if !known {
			f.Unknown = append(f.Unknown, ErrorField{Type: t, Value: v})
		}
	}
}

// AppendErrorFields appends an ErrorResponse (typ 'E') or NoticeResponse
// (typ 'N') carrying every non-empty field of f.
func AppendErrorFields(dst []byte, typ byte, f *ErrorFields) []byte {
	dst, start := begin(dst, typ)
	for _, r := range f.fieldRefs() {
		dst = appendField(dst, r.t, *r.v)
	}
	for _, u := range f.Unknown {
		if u.Type != 0 {
			dst = appendField(dst, u.Type, u.Value)
		}
	}
	dst = append(dst, 0)
	return finish(dst, start)
}

// AppendErrorResponse appends an ErrorResponse for e with severity sev.
// When e's cause is the ErrorFields of a server error (see
// ErrorFields.SQLError), the server's other fields go along; e's code,
// message, detail and hint win.
func AppendErrorResponse(dst []byte, sev Severity, e *sqlerr.Error) []byte {
	code := e.Code
	if code == "" {
		code = sqlerr.InternalError
	}
	dst, start := begin(dst, TypeErrorResponse)
	dst = appendField(dst, 'S', sev.String())
	dst = appendField(dst, 'V', sev.String())
	dst = appendField(dst, 'C', code)
	dst = appendField(dst, 'M', e.Message)
	dst = appendField(dst, 'D', e.Detail)
	dst = appendField(dst, 'H', e.Hint)
	if f, ok := e.Err.(*ErrorFields); ok && f != nil {
		refs := f.fieldRefs()
		for _, r := range refs[6:] { // after S V C M D H
			dst = appendField(dst, r.t, *r.v)
		}
		for _, u := range f.Unknown {
			if u.Type != 0 {
				dst = appendField(dst, u.Type, u.Value)
			}
		}
	}
	dst = append(dst, 0)
	return finish(dst, start)
}

// appendField appends one field, leaving out empty ones. A NUL inside v
// would end the field early on the wire, so v is cut there.
func appendField(dst []byte, t byte, v string) []byte {
	if v == "" {
		return dst
	}
	if i := indexNUL(v); i >= 0 {
		v = v[:i]
	}
	dst = append(dst, t)
	dst = append(dst, v...)
	return append(dst, 0)
}

func indexNUL(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return -1
}

// WriteErrorResponse writes an ErrorResponse for e (see
// AppendErrorResponse).
func (w *Writer) WriteErrorResponse(sev Severity, e *sqlerr.Error) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendErrorResponse(w.next(), sev, e))
}

// WriteErrorFields writes an ErrorResponse (typ 'E') or NoticeResponse
// (typ 'N') with f's fields.
func (w *Writer) WriteErrorFields(typ byte, f *ErrorFields) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendErrorFields(w.next(), typ, f))
}
