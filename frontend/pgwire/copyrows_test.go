package pgwire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// copyFmt builds a copyFormat from options written as in SQL's WITH (…).
func copyFmt(t testing.TB, cols []string, key int, opts ...parser.CopyOption) copyFormat {
	t.Helper()
	f, err := newCopyFormat(&parser.CopyInfo{From: true, Options: opts}, cols, key)
	if err != nil {
		t.Fatalf("options %v: %v", opts, err)
	}
	return f
}

func opt(name, value string) parser.CopyOption {
	return parser.CopyOption{Name: name, Value: value, HasValue: true}
}

func bare(name string) parser.CopyOption { return parser.CopyOption{Name: name} }

func forceOpt(name string, cols ...string) parser.CopyOption {
	return parser.CopyOption{Name: name, Columns: cols}
}

// splitRows runs data through copyRows in the given pieces and describes
// the rows (or the error's SQLSTATE and message).
func splitRows(f copyFormat, pieces [][]byte, maxRow int) string {
	c := newCopyRows(f, maxRow)
	var out []string
	fn := func(r *copyRow) error {
		var s string
		switch r.kind {
		case rowHeader:
			s = "header"
		case rowEnd:
			s = "end"
		default:
			switch {
			case r.null:
				s = "key=NULL"
			case r.dflt:
				s = "key=DEFAULT"
			case f.key < 0:
				s = "row"
			default:
				s = fmt.Sprintf("key=%q", r.key)
			}
		}
		out = append(out, fmt.Sprintf("%s raw=%q", s, r.raw))
		return nil
	}
	var err error
	for _, p := range pieces {
		if err = c.feed(p, fn); err != nil {
			break
		}
	}
	if err == nil {
		err = c.finish(fn)
	}
	if err != nil {
		e := sqlerr.From(err)
		out = append(out, "error "+e.Code+": "+e.Message)
	}
	return strings.Join(out, "\n")
}

// checkChunking asserts that every way of cutting data into pieces gives
// the rows the whole does, and returns them.
func checkChunking(t *testing.T, f copyFormat, data string, maxRow int) string {
	t.Helper()
	whole := splitRows(f, [][]byte{[]byte(data)}, maxRow)
	var bytewise [][]byte
	for i := 0; i < len(data); i++ {
		bytewise = append(bytewise, []byte{data[i]})
	}
	if got := splitRows(f, bytewise, maxRow); got != whole {
		t.Errorf("%q byte by byte:\n%s\nwhole:\n%s", data, got, whole)
	}
	for cut := 0; cut <= len(data); cut++ {
		if got := splitRows(f, [][]byte{[]byte(data[:cut]), []byte(data[cut:])}, maxRow); got != whole {
			t.Errorf("%q cut at %d:\n%s\nwhole:\n%s", data, cut, got, whole)
		}
	}
	return whole
}

func TestCopyRowsText(t *testing.T) {
	cols := []string{"id", "name"}
	plain := copyFmt(t, cols, 0)
	keyLast := copyFmt(t, cols, 1)
	pipe := copyFmt(t, cols, 1, opt("delimiter", "|"))
	header := copyFmt(t, cols, 0, opt("header", "true"))
	nullX := copyFmt(t, cols, 0, opt("null", "x"))
	for _, tc := range []struct {
		name string
		f    copyFormat
		data string
		want string
	}{
		{"plain", plain, "1\ta\n2\tb\n", `key="1" raw="1\ta\n"` + "\n" + `key="2" raw="2\tb\n"`},
		{"no final newline", plain, "1\ta\n2\tb", `key="1" raw="1\ta\n"` + "\n" + `key="2" raw="2\tb"`},
		{"empty", plain, "", ""},
		{"key last", keyLast, "a\t42\n", `key="42" raw="a\t42\n"`},
		{"escapes in key", keyLast, "a\t" + `\x34\062` + "\n", `key="42" raw="a\t\\x34\\062\n"`},
		{"escapes decoded", keyLast, `x` + "\t" + `\b\f\n\r\t\v\q\x\xg\0101` + "\n", `key="\b\f\n\r\t\vqxxg\b1" raw="x\t\\b\\f\\n\\r\\t\\v\\q\\x\\xg\\0101\n"`},
		{"escaped delimiter", pipe, `a\|b|42` + "\n", `key="42" raw="a\\|b|42\n"`},
		{"escaped delimiter in key", pipe, `a|4\|2` + "\n", `key="4|2" raw="a|4\\|2\n"`},
		{"escaped newline is data", plain, "5\tx\\\ny\n6\tz\n", `key="5" raw="5\tx\\\ny\n"` + "\n" + `key="6" raw="6\tz\n"`},
		{"escaped backslash then tab", keyLast, "a\\\\\t7\n", `key="7" raw="a\\\\\t7\n"`},
		{"null", plain, "\\N\tx\n", `key=NULL raw="\\N\tx\n"`},
		{"escaped backslash N is not null", plain, "\\\\N\tx\n", `key="\\N" raw="\\\\N\tx\n"`},
		{"null option", nullX, "x\ty\n", `key=NULL raw="x\ty\n"`},
		{"crlf", plain, "1\tx\r\n2\ty\r\n", `key="1" raw="1\tx\r\n"` + "\n" + `key="2" raw="2\ty\r\n"`},
		{"cr", plain, "1\tx\r2\ty\r", `key="1" raw="1\tx\r"` + "\n" + `key="2" raw="2\ty\r"`},
		{"crlf then lf", plain, "1\tx\r\n2\ty\n", `key="1" raw="1\tx\r\n"` + "\nerror 22P04: literal newline found in data"},
		{"lf then cr", plain, "1\tx\n2\ty\r", `key="1" raw="1\tx\n"` + "\nerror 22P04: literal carriage return found in data"},
		{"lf then cr inside", plain, "1\tx\n2\ty\rz\n", `key="1" raw="1\tx\n"` + "\nerror 22P04: literal carriage return found in data"},
		{"end marker", plain, "1\tx\n\\.\n3\ty\n", `key="1" raw="1\tx\n"` + "\n" + `end raw="\\.\n"`},
		{"end marker at eof", plain, "1\tx\n\\.", `key="1" raw="1\tx\n"` + "\n" + `end raw="\\."`},
		{"end marker crlf", plain, "1\tx\r\n\\.\r\n", `key="1" raw="1\tx\r\n"` + "\n" + `end raw="\\.\r\n"`},
		{"end marker style", plain, "1\tx\r\n\\.\n", `key="1" raw="1\tx\r\n"` + "\nerror 22P04: end-of-copy marker does not match previous newline style"},
		{"end marker first", plain, "\\.\n1\tx\n", `end raw="\\.\n"`},
		{"end marker after data", plain, "1\tx\\.\n2\ty\n", `key="1" raw="1\tx\\.\n"`},
		{"end marker after data at eof", plain, "1\tx\\.", `key="1" raw="1\tx\\."`},
		{"end marker after data corrupt", plain, "1\tx\\.y\n", "error 22P04: end-of-copy marker corrupt"},
		{"end marker corrupt", plain, "\\.x\n", "error 22P04: end-of-copy marker corrupt"},
		{"missing column", plain, "1\n", `error 22P04: missing data for column "name"`},
		{"extra column", plain, "1\tx\ty\n", "error 22P04: extra data after last expected column"},
		{"header", header, "id\tname\n1\tx\n", `header raw="id\tname\n"` + "\n" + `key="1" raw="1\tx\n"`},
		{"header only", header, "a\tb\tc", `header raw="a\tb\tc"`},
		{"nul", plain, "1\t\x00\n", "error 22021: invalid byte sequence for encoding \"UTF8\": 0x00"},
		{"escaped nul in key", plain, "\\0\tx\n", "error 22021: invalid byte sequence for encoding \"UTF8\": 0x00"},
		{"trailing backslash", keyLast, "a\t4\\", `key="4" raw="a\t4\\"`},
		{"lone backslash", copyFmt(t, []string{"id"}, 0), "\\", `key="" raw="\\"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkChunking(t, tc.f, tc.data, 1<<20); got != tc.want {
				t.Errorf("%q:\n got: %s\nwant: %s", tc.data, got, tc.want)
			}
		})
	}
}

func TestCopyRowsCSV(t *testing.T) {
	cols := []string{"id", "name"}
	csv := opt("format", "csv")
	plain := copyFmt(t, cols, 0, csv)
	keyLast := copyFmt(t, cols, 1, csv)
	header := copyFmt(t, cols, 0, csv, bare("header"))
	backslash := copyFmt(t, cols, 1, csv, opt("escape", `\`))
	semi := copyFmt(t, cols, 0, csv, opt("delimiter", ";"), opt("quote", "'"))
	notNull := copyFmt(t, cols, 0, csv, forceOpt("force_not_null", "id"))
	forceNull := copyFmt(t, cols, 0, csv, forceOpt("force_null", "id"))
	for _, tc := range []struct {
		name string
		f    copyFormat
		data string
		want string
	}{
		{"plain", plain, "1,a\n2,b\n", `key="1" raw="1,a\n"` + "\n" + `key="2" raw="2,b\n"`},
		{"quoted delimiter", keyLast, "\"a,b\",1\n", `key="1" raw="\"a,b\",1\n"`},
		{"quoted newline", plain, "1,\"line1\nline2\"\n2,x\n", `key="1" raw="1,\"line1\nline2\"\n"` + "\n" + `key="2" raw="2,x\n"`},
		{"quoted crlf", plain, "1,\"a\r\nb\"\r\n2,x\r\n", `key="1" raw="1,\"a\r\nb\"\r\n"` + "\n" + `key="2" raw="2,x\r\n"`},
		{"doubled quotes", plain, "\"4\"\"2\",x\n", `key="4\"2" raw="\"4\"\"2\",x\n"`},
		{"quoted key", plain, "\"42\",x\n", `key="42" raw="\"42\",x\n"`},
		{"partly quoted key", plain, "4\"2\"3,x\n", `key="423" raw="4\"2\"3,x\n"`},
		{"quoted delimiter in key", keyLast, "x,\"4,2\"\n", `key="4,2" raw="x,\"4,2\"\n"`},
		{"null", plain, ",x\n", `key=NULL raw=",x\n"`},
		{"quoted empty is not null", plain, "\"\",x\n", `key="" raw="\"\",x\n"`},
		{"force not null", notNull, ",x\n", `key="" raw=",x\n"`},
		{"force null", forceNull, "\"\",x\n", `key=NULL raw="\"\",x\n"`},
		{"escape", backslash, "\"a\\\"b\",1\n", `key="1" raw="\"a\\\"b\",1\n"`},
		{"escape before closing quote", backslash, "\"a\\\"\",1\n", `key="1" raw="\"a\\\"\",1\n"`},
		{"escaped escape", backslash, "x,\"4\\\\2\"\n", `key="4\\2" raw="x,\"4\\\\2\"\n"`},
		{"escape outside quotes", backslash, "x,4\\2\n", `key="4\\2" raw="x,4\\2\n"`},
		{"delimiter and quote", semi, "'1;2';'x'\n", `key="1;2" raw="'1;2';'x'\n"`},
		{"header with quoted newline", header, "\"i\nd\",name\n1,x\n", `header raw="\"i\nd\",name\n"` + "\n" + `key="1" raw="1,x\n"`},
		{"end marker", plain, "1,x\n\\.\n2,y\n", `key="1" raw="1,x\n"` + "\n" + `end raw="\\.\n"`},
		{"backslash dot is data", keyLast, "\\.x,1\n", `key="1" raw="\\.x,1\n"`},
		{"quoted backslash dot is data", plain, "\"\\.\",x\n", `key="\\." raw="\"\\.\",x\n"`},
		{"unquoted cr", plain, "1,x\n2,y\rz\n", `key="1" raw="1,x\n"` + "\nerror 22P04: unquoted carriage return found in data"},
		{"unterminated", plain, "\"1,x\n", "error 22P04: missing data for column \"name\""},
		{"unterminated key", copyFmt(t, []string{"id"}, 0, csv), "\"1\n", "error 22P04: unterminated CSV quoted field"},
		{"extra", plain, "1,x,y\n", "error 22P04: extra data after last expected column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkChunking(t, tc.f, tc.data, 1<<20); got != tc.want {
				t.Errorf("%q:\n got: %s\nwant: %s", tc.data, got, tc.want)
			}
		})
	}
}

// binaryCopy builds COPY BINARY data: tuples of fields (nil is NULL).
func binaryCopy(ext []byte, trailer bool, tuples ...[][]byte) []byte {
	b := []byte(binarySignature)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ext)))
	b = append(b, ext...)
	for _, tu := range tuples {
		b = binary.BigEndian.AppendUint16(b, uint16(len(tu)))
		for _, f := range tu {
			if f == nil {
				b = binary.BigEndian.AppendUint32(b, 0xffffffff)
				continue
			}
			b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		}
	}
	if trailer {
		b = append(b, 0xff, 0xff)
	}
	return b
}

func TestCopyRowsBinary(t *testing.T) {
	cols := []string{"id", "name"}
	f := copyFmt(t, cols, 0, opt("format", "binary"))
	i8 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	header := `header raw="PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"`
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"rows", binaryCopy(nil, true, [][]byte{i8(42), []byte("x")}, [][]byte{i8(7), nil}),
			header + "\n" + `key="\x00\x00\x00\x00\x00\x00\x00*" raw="\x00\x02\x00\x00\x00\b\x00\x00\x00\x00\x00\x00\x00*\x00\x00\x00\x01x"` +
				"\n" + `key="\x00\x00\x00\x00\x00\x00\x00\a" raw="\x00\x02\x00\x00\x00\b\x00\x00\x00\x00\x00\x00\x00\a\xff\xff\xff\xff"` +
				"\n" + `end raw="\xff\xff"`},
		{"no trailer", binaryCopy(nil, false, [][]byte{i8(1), []byte("y")}), header + "\n" + `key="\x00\x00\x00\x00\x00\x00\x00\x01" raw="\x00\x02\x00\x00\x00\b\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01y"`},
		{"null key", binaryCopy(nil, true, [][]byte{nil, []byte("y")}), header + "\n" + `key=NULL raw="\x00\x02\xff\xff\xff\xff\x00\x00\x00\x01y"` + "\n" + `end raw="\xff\xff"`},
		{"extension", binaryCopy([]byte("ext"), true), `header raw="PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x03ext"` + "\n" + `end raw="\xff\xff"`},
		{"field count", binaryCopy(nil, true, [][]byte{i8(1)}), header + "\nerror 22P04: row field count is 1, expected 2"},
		{"signature", []byte("PGCOPY\nxx\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "error 22P04: COPY file signature not recognized"},
		{"short signature", []byte("PGC"), "error 22P04: COPY file signature not recognized"},
		{"oids", append([]byte(binarySignature), 0, 1, 0, 0, 0, 0, 0, 0), "error 22P04: invalid COPY file header (WITH OIDS)"},
		{"truncated", binaryCopy(nil, false, [][]byte{i8(1), []byte("y")})[:25], header + "\nerror 22P04: unexpected EOF in COPY data"},
		{"after trailer", append(binaryCopy(nil, true), 0, 1), header + "\n" + `end raw="\xff\xff"` + "\nerror 22P04: received copy data after EOF marker"},
		{"bad size", append(binaryCopy(nil, false), 0, 2, 0xff, 0xff, 0xff, 0xfe), header + "\nerror 22P04: invalid field size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkChunking(t, f, string(tc.data), 1<<20); got != tc.want {
				t.Errorf("got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestCopyRowsLimit(t *testing.T) {
	f := copyFmt(t, []string{"id", "name"}, 0)
	long := "1\t" + strings.Repeat("x", 100) + "\n"
	if got := splitRows(f, [][]byte{[]byte(long[:60]), []byte(long[60:])}, 64); !strings.Contains(got, "error 54000") {
		t.Errorf("a row over the limit: %s", got)
	}
	// Rows under the limit pass in any pieces, however many.
	var pieces [][]byte
	data := strings.Repeat("1\t"+strings.Repeat("y", 50)+"\n", 100)
	for i := 0; i < len(data); i += 7 {
		pieces = append(pieces, []byte(data[i:min(i+7, len(data))]))
	}
	if got := splitRows(f, pieces, 64); strings.Count(got, "key=") != 100 || strings.Contains(got, "error") {
		t.Errorf("rows under the limit: %s", got)
	}
}

func TestCopyOptions(t *testing.T) {
	for _, tc := range []struct {
		opts []parser.CopyOption
		want string // error code and message, or the format's settings
	}{
		{nil, `text delim="\t" null="\\N"`},
		{[]parser.CopyOption{opt("format", "csv")}, `csv delim="," null="" quote="\"" escape="\""`},
		{[]parser.CopyOption{opt("format", "csv"), opt("escape", `\`), opt("quote", "'")}, `csv delim="," null="" quote="'" escape="\\"`},
		{[]parser.CopyOption{opt("format", "CSV")}, `22023: COPY format "CSV" not recognized`},
		{[]parser.CopyOption{opt("delimiter", "ab")}, "0A000: COPY delimiter must be a single one-byte character"},
		{[]parser.CopyOption{opt("delimiter", "é")}, "0A000: COPY delimiter must be a single one-byte character"},
		{[]parser.CopyOption{opt("delimiter", "\n")}, "22023: COPY delimiter cannot be newline or carriage return"},
		{[]parser.CopyOption{opt("delimiter", "a")}, `22023: COPY delimiter cannot be "a"`},
		{[]parser.CopyOption{opt("quote", "'")}, "0A000: COPY quote available only in CSV mode"},
		{[]parser.CopyOption{opt("format", "csv"), opt("quote", ",")}, "22023: COPY delimiter and quote must be different"},
		{[]parser.CopyOption{opt("format", "binary"), opt("delimiter", ",")}, "42601: cannot specify DELIMITER in BINARY mode"},
		{[]parser.CopyOption{opt("format", "binary"), bare("header")}, "0A000: cannot specify HEADER in BINARY mode"},
		{[]parser.CopyOption{opt("header", "maybe")}, `42601: header requires a Boolean value or "match"`},
		{[]parser.CopyOption{opt("header", "of")}, `text delim="\t" null="\\N"`},
		{[]parser.CopyOption{opt("header", "MATCH")}, `text delim="\t" null="\\N" header`},
		{[]parser.CopyOption{opt("header", "ye")}, `text delim="\t" null="\\N" header`},
		{[]parser.CopyOption{opt("null", "a\tb")}, "22023: COPY delimiter must not appear in the NULL specification"},
		{[]parser.CopyOption{opt("encoding", "LATIN1")}, `0A000: COPY … ENCODING "LATIN1" is not supported through shardgate`},
		{[]parser.CopyOption{opt("encoding", "UTF-8")}, `text delim="\t" null="\\N"`},
		{[]parser.CopyOption{opt("frobnicate", "1")}, `42601: option "frobnicate" not recognized`},
		{[]parser.CopyOption{opt("null", "x"), opt("null", "y")}, "42601: conflicting or redundant options"},
		{[]parser.CopyOption{forceOpt("force_null", "id")}, "0A000: COPY force not null and force null are available only in CSV mode"},
	} {
		f, err := newCopyFormat(&parser.CopyInfo{From: true, Options: tc.opts}, []string{"id"}, 0)
		var got string
		if err != nil {
			e := sqlerr.From(err)
			got = e.Code + ": " + e.Message
		} else {
			got = fmt.Sprintf("%s delim=%q null=%q", f.format, string(f.delim), f.null)
			if f.format == parser.CopyCSV {
				got += fmt.Sprintf(" quote=%q escape=%q", string(f.quote), string(f.escape))
			}
			if f.header {
				got += " header"
			}
		}
		if got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.opts, got, tc.want)
		}
	}
}

// FuzzCopyRows: any data, any format, any cut into pieces: no panic; the
// rows are the same however the data is cut; the rows' bytes are the data
// itself, in order (what the proxy forwards is what the client sent, up to
// the end marker).
func FuzzCopyRows(f *testing.F) {
	f.Add([]byte("1\tx\n2\ty\n\\.\n"), uint8(0), uint8(0), uint16(3))
	f.Add([]byte("1,\"a\nb\"\r\n\"2\"\"\",x\r\n"), uint8(1), uint8(1), uint16(5))
	f.Add([]byte("id,name\n1,\\.\n"), uint8(5), uint8(0), uint16(9))
	f.Add(binaryCopy([]byte("e"), true, [][]byte{{0, 0, 0, 1}, nil}), uint8(2), uint8(0), uint16(17))
	f.Add([]byte("a\\\n|4\\|2\r\n"), uint8(3), uint8(1), uint16(2))
	f.Add([]byte("1\tx\\.\n2\ty\n"), uint8(0), uint8(1), uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, mode, key uint8, cuts uint16) {
		opts := [][]parser.CopyOption{
			nil,
			{opt("format", "csv")},
			{opt("format", "binary")},
			{opt("delimiter", "|")},
			{opt("format", "csv"), opt("escape", `\`), opt("quote", "'")},
			{opt("format", "csv"), bare("header"), forceOpt("force_null", "b")},
			{bare("header"), opt("null", "")},
		}[int(mode)%7]
		cols := []string{"a", "b"}
		k := int(key)%3 - 1
		fm, err := newCopyFormat(&parser.CopyInfo{From: true, Options: opts}, cols, k)
		if err != nil {
			t.Fatal(err)
		}
		ended := false
		run := func(pieces [][]byte) (string, []byte) {
			c := newCopyRows(fm, 1<<16)
			var rows []string
			var raw []byte
			fn := func(r *copyRow) error {
				raw = append(raw, r.raw...)
				rows = append(rows, fmt.Sprintf("%d %q %q %v %v", r.kind, r.raw, r.key, r.null, r.dflt))
				return nil
			}
			var err error
			for _, p := range pieces {
				if err = c.feed(p, fn); err != nil {
					break
				}
			}
			if err == nil {
				err = c.finish(fn)
			}
			if err != nil {
				rows = append(rows, "error "+sqlerr.From(err).Code)
			}
			ended = c.ended
			return strings.Join(rows, "\n"), raw
		}
		whole, raw := run([][]byte{data})
		if !bytes.HasPrefix(data, raw) {
			t.Fatalf("rows %q are not the data %q", raw, data)
		}
		if !strings.Contains(whole, "error") && !ended && len(raw) != len(data) {
			t.Fatalf("rows %q leave out data of %q", raw, data)
		}
		var pieces [][]byte
		rest, c := data, uint32(cuts)|1
		for len(rest) > 0 {
			n := int(c%7) + 1
			c = c*1103515245 + 12345
			n = min(n, len(rest))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		if cut, _ := run(pieces); cut != whole {
			t.Fatalf("%q in pieces:\n%s\nwhole:\n%s", data, cut, whole)
		}
	})
}

func TestCheckCopyEncoding(t *testing.T) {
	for _, tc := range []struct {
		enc     string
		textKey bool
		ok      bool
	}{
		{"", true, true}, {"UTF8", true, true}, {"utf-8", true, true}, {"unicode", true, true},
		{"LATIN1", false, true}, {"LATIN1", true, false}, {"WIN1252", true, false},
		{"SJIS", false, false}, {"Shift_JIS", false, false}, {"gb18030", false, false}, {"BIG5", false, false},
	} {
		if err := checkCopyEncoding(tc.enc, tc.textKey); (err == nil) != tc.ok {
			t.Errorf("%q text key %v: %v", tc.enc, tc.textKey, err)
		}
	}
}

func BenchmarkCopyRows(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []parser.CopyOption
		row  string
	}{
		{"text", nil, "123456789\t" + strings.Repeat("x", 990) + "\n"},
		{"csv", []parser.CopyOption{opt("format", "csv")}, "123456789,\"" + strings.Repeat("x", 988) + "\"\n"},
		{"text-short", nil, "123456789\tname\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := copyFmt(b, []string{"id", "name"}, 0, tc.opts...)
			chunk := []byte(strings.Repeat(tc.row, (64<<10)/len(tc.row)+1))
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			c := newCopyRows(f, 1<<20)
			fn := func(*copyRow) error { return nil }
			for b.Loop() {
				if err := c.feed(chunk, fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
