package pgwire

import (
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// COPY … FROM options: the format of the data (copyrows.go reads it).

// SQLSTATEs of COPY's data errors.
const (
	badCopyFileFormat     = "22P04"
	invalidParameterValue = "22023"
	invalidByteSequence   = "22021"
	programLimitExceeded  = "54000"
)

// copyFormat is how the server reads one COPY's data: the format and its
// options, and which field of a row holds the sharding column.
type copyFormat struct {
	format     parser.CopyFormat
	delim      byte
	quote      byte
	escape     byte
	null       string
	dflt       string
	hasDefault bool
	header     bool
	// columns are the COPY's column names (nil: unknown); key is the index
	// of the sharding column among them, -1 for none.
	columns []string
	key     int
	// FORCE_NOT_NULL / FORCE_NULL name the sharding column (CSV).
	keyForceNotNull bool
	keyForceNull    bool
}

// newCopyFormat reads a COPY's options as Postgres' ProcessCopyOptions
// does, so that an option the server would refuse is mostly refused
// before the client is asked for data (what the server alone checks, it
// reports when the COPY reaches it).
func newCopyFormat(info *parser.CopyInfo, columns []string, key int) (copyFormat, error) {
	f := copyFormat{format: parser.CopyText, columns: columns, key: key}
	seen := make(map[string]bool, len(info.Options))
	var delim, quote, escape, null, dflt *string
	for i := range info.Options {
		o := &info.Options[i]
		if seen[o.Name] {
			return f, sqlerr.New(sqlerr.SyntaxError, "conflicting or redundant options")
		}
		seen[o.Name] = true
		switch o.Name {
		case "format":
			switch o.Value {
			case "text":
				f.format = parser.CopyText
			case "csv":
				f.format = parser.CopyCSV
			case "binary":
				f.format = parser.CopyBinary
			default:
				return f, sqlerr.New(invalidParameterValue, "COPY format \"%s\" not recognized", o.Value)
			}
		case "delimiter":
			delim = &o.Value
		case "quote":
			quote = &o.Value
		case "escape":
			escape = &o.Value
		case "null":
			null = &o.Value
		case "default":
			dflt = &o.Value
		case "header":
			h, err := copyHeaderChoice(o)
			if err != nil {
				return f, err
			}
			f.header = h
		case "force_not_null":
			f.keyForceNotNull = namesColumn(o, columns, key)
		case "force_null":
			f.keyForceNull = namesColumn(o, columns, key)
		case "encoding":
			switch strings.ToLower(strings.ReplaceAll(o.Value, "-", "")) {
			case "utf8", "unicode":
			default:
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY … ENCODING %q is not supported through shardgate", o.Value).
					WithHint("shardgate reads the rows to route them, as UTF-8; convert the data to UTF-8 first.")
			}
		case "freeze", "force_quote", "on_error", "log_verbosity", "reject_limit", "convert_selectively":
			// The server checks these; they do not change how rows are read.
		default:
			return f, sqlerr.New(sqlerr.SyntaxError, "option \"%s\" not recognized", o.Name)
		}
	}
	csv := f.format == parser.CopyCSV
	if f.format == parser.CopyBinary {
		switch {
		case delim != nil:
			return f, sqlerr.New(sqlerr.SyntaxError, "cannot specify DELIMITER in BINARY mode")
		case null != nil:
			return f, sqlerr.New(sqlerr.SyntaxError, "cannot specify NULL in BINARY mode")
		case dflt != nil:
			return f, sqlerr.New(sqlerr.SyntaxError, "cannot specify DEFAULT in BINARY mode")
		case f.header:
			return f, sqlerr.New(sqlerr.FeatureNotSupported, "cannot specify HEADER in BINARY mode")
		}
	}
	f.delim, f.null = '\t', `\N`
	if csv {
		f.delim, f.null = ',', ""
	}
	if delim != nil {
		if len(*delim) != 1 {
			return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY delimiter must be a single one-byte character")
		}
		f.delim = (*delim)[0]
	}
	if null != nil {
		f.null = *null
	}
	if dflt != nil {
		f.dflt, f.hasDefault = *dflt, true
	}
	if f.delim == '\n' || f.delim == '\r' {
		return f, sqlerr.New(invalidParameterValue, "COPY delimiter cannot be newline or carriage return")
	}
	if strings.ContainsAny(f.null, "\r\n") {
		return f, sqlerr.New(invalidParameterValue, "COPY null representation cannot use newline or carriage return")
	}
	if f.hasDefault && strings.ContainsAny(f.dflt, "\r\n") {
		return f, sqlerr.New(invalidParameterValue, "COPY default representation cannot use newline or carriage return")
	}
	if !csv && f.format == parser.CopyText && strings.IndexByte(`\.abcdefghijklmnopqrstuvwxyz0123456789`, f.delim) >= 0 {
		return f, sqlerr.New(invalidParameterValue, "COPY delimiter cannot be \"%s\"", string(f.delim))
	}
	if !csv && quote != nil {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY quote available only in CSV mode")
	}
	if !csv && escape != nil {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY escape available only in CSV mode")
	}
	if !csv && (seen["force_not_null"] || seen["force_null"]) {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force not null and force null are available only in CSV mode")
	}
	if csv {
		f.quote = '"'
		if quote != nil {
			if len(*quote) != 1 {
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY quote must be a single one-byte character")
			}
			f.quote = (*quote)[0]
		}
		f.escape = f.quote
		if escape != nil {
			if len(*escape) != 1 {
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY escape must be a single one-byte character")
			}
			f.escape = (*escape)[0]
		}
		if f.delim == f.quote {
			return f, sqlerr.New(invalidParameterValue, "COPY delimiter and quote must be different")
		}
		if strings.IndexByte(f.null, f.quote) >= 0 {
			return f, sqlerr.New(invalidParameterValue, "CSV quote character must not appear in the NULL specification")
		}
		for _, c := range []byte{f.quote, f.escape} {
			if c == '\r' || c == '\n' || c == 0 {
				// The server's line reader would misread them; refuse
				// rather than guess where its rows end.
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "a COPY quote or escape character that is a newline, carriage return or NUL is not supported through shardgate")
			}
		}
	}
	if f.format != parser.CopyBinary && strings.IndexByte(f.null, f.delim) >= 0 {
		return f, sqlerr.New(invalidParameterValue, "COPY delimiter must not appear in the NULL specification")
	}
	if f.hasDefault && f.format != parser.CopyBinary {
		if strings.IndexByte(f.dflt, f.delim) >= 0 {
			return f, sqlerr.New(invalidParameterValue, "COPY delimiter must not appear in the DEFAULT specification")
		}
		if f.dflt == f.null {
			return f, sqlerr.New(invalidParameterValue, "NULL specification and DEFAULT specification cannot be the same")
		}
	}
	return f, nil
}

// copyHeaderChoice reads HEADER's argument as Postgres does: a Boolean
// (parse_bool accepts unique prefixes of true/false/yes/no, on/off, 1/0) or
// "match".
func copyHeaderChoice(o *parser.CopyOption) (bool, error) {
	if !o.HasValue {
		return true, nil
	}
	v := strings.ToLower(o.Value)
	switch {
	case v == "match":
		return true, nil
	case v == "1", v == "on", v != "" && (strings.HasPrefix("true", v) || strings.HasPrefix("yes", v)):
		return true, nil
	case v == "0", v == "of" || v == "off", v != "" && (strings.HasPrefix("false", v) || strings.HasPrefix("no", v)):
		return false, nil
	}
	return false, sqlerr.New(sqlerr.SyntaxError, "header requires a Boolean value or \"match\"")
}

// namesColumn reports whether a FORCE_* option names the sharding column.
func namesColumn(o *parser.CopyOption, columns []string, key int) bool {
	if key < 0 || key >= len(columns) {
		return false
	}
	if o.Star {
		return true
	}
	for _, c := range o.Columns {
		if c == columns[key] {
			return true
		}
	}
	return false
}
