package pgio

import (
	"bytes"
	"reflect"
	"testing"
	"testing/iotest"
)

// Every decoder must refuse or accept any input without panicking, and
// what it accepts must encode back to an input it decodes the same way.

func FuzzReader(f *testing.F) {
	f.Add(stream(byte('Q'), "SELECT 1\x00", byte('Z'), "I"), 64)
	f.Add([]byte{'D', 0, 0, 0, 3}, 0)
	f.Add([]byte{'D', 0xff, 0xff, 0xff, 0xff}, 1)
	f.Add(AppendStartup(nil, "user", "u"), 7)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max <= 0 || max > 1<<16 {
			max = 1 << 16
		}
		r := NewReader(iotest.HalfReader(bytes.NewReader(data)), ReaderOptions{MaxMessageSize: max, BufferSize: 16})
		if len(data) > 0 && data[0]&1 == 1 {
			body, err := r.ReadStartup()
			if err != nil {
				return
			}
			if len(body) < 4 || len(body) > MaxStartupPacketSize-4 {
				t.Fatalf("startup body of %d bytes", len(body))
			}
		}
		consumed := 0
		for {
			typ, body, err := r.ReadMessage()
			if err != nil {
				return
			}
			if len(body) > max || cap(body) != len(body) {
				t.Fatalf("body len %d cap %d, max %d", len(body), cap(body), max)
			}
			consumed += 5 + len(body)
			if consumed > len(data) {
				t.Fatalf("read %d bytes of messages from %d bytes", consumed, len(data))
			}
			_ = typ
		}
	})
}

func FuzzErrorFields(f *testing.F) {
	f.Add([]byte("SERROR\x00C42601\x00Msyntax error\x00P8\x00Zx\x00\x00"))
	f.Add([]byte("\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := DecodeErrorFields(b)
		if err != nil {
			return
		}
		_, again := bodyOf(t, AppendErrorFields(nil, 'E', &fields))
		fields2, err := DecodeErrorFields(again)
		if err != nil {
			t.Fatalf("re-encoded fields do not decode: %v", err)
		}
		// Empty fields are dropped when encoding, so compare what survives.
		if !reflect.DeepEqual(normalizeFields(fields), fields2) {
			t.Fatalf("round trip:\n%+v\n%+v", fields, fields2)
		}
		_ = AppendErrorResponse(nil, SeverityError, fields.SQLError())
	})
}

// normalizeFields is what encoding keeps of f: named fields as they are,
// unknown ones only when non-empty (a later duplicate of a named type
// overwrites the earlier one, as in decoding).
func normalizeFields(f ErrorFields) ErrorFields {
	var u []ErrorField
	for _, x := range f.Unknown {
		if x.Value != "" {
			u = append(u, x)
		}
	}
	f.Unknown = u
	return f
}

func FuzzParse(f *testing.F) {
	f.Add((&Parse{Name: []byte("s"), Query: []byte("SELECT $1"), ParamOIDs: Uint32s(AppendUint32s(nil, 23))}).Append(nil)[5:])
	f.Fuzz(func(t *testing.T, b []byte) {
		var p, p2 Parse
		if p.Decode(b) != nil {
			return
		}
		_, again := bodyOf(t, p.Append(nil))
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %q as %q", b, again)
		}
		if err := p2.Decode(again); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzBind(f *testing.F) {
	f.Add((&Bind{Portal: []byte("p"), Statement: []byte("s"), ParamFormats: Int16s(AppendInt16s(nil, 1)),
		Params: [][]byte{{1, 2}, nil, {}}, ResultFormats: Int16s(AppendInt16s(nil, 0, 1))}).Append(nil)[5:])
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Bind
		if m.Decode(b) != nil {
			if len(m.Params) != 0 {
				t.Fatal("failed Decode left parameters")
			}
			return
		}
		for _, p := range m.Params {
			if p != nil && cap(p) != len(p) {
				t.Fatal("parameter view can be appended into the body")
			}
		}
		_, again := bodyOf(t, m.Append(nil))
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %q as %q", b, again)
		}
	})
}

func FuzzDescribeCloseExecute(f *testing.F) {
	f.Add(byte(0), []byte("Sname\x00"))
	f.Add(byte(2), []byte("p\x00\x00\x00\x00\x05"))
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		var again []byte
		switch which % 3 {
		case 0:
			var m Describe
			if m.Decode(b) != nil {
				return
			}
			_, again = bodyOf(t, m.Append(nil))
		case 1:
			var m Close
			if m.Decode(b) != nil {
				return
			}
			_, again = bodyOf(t, m.Append(nil))
		case 2:
			var m Execute
			if m.Decode(b) != nil {
				return
			}
			_, again = bodyOf(t, m.Append(nil))
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %q as %q", b, again)
		}
	})
}

func FuzzBackendDecoders(f *testing.F) {
	f.Add([]byte("I"))
	f.Add([]byte("TimeZone\x00UTC\x00"))
	f.Add([]byte("INSERT 0 1\x00"))
	f.Add([]byte{0, 0, 0, 1, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := DecodeReadyForQuery(b); err == nil {
			if !bytes.Equal(AppendReadyForQuery(nil, s)[5:], b) {
				t.Fatal("ReadyForQuery round trip")
			}
		}
		if n, v, err := DecodeParameterStatus(b); err == nil {
			if !bytes.Equal(AppendParameterStatus(nil, string(n), string(v))[5:], b) {
				t.Fatal("ParameterStatus round trip")
			}
		}
		if tag, err := DecodeCommandComplete(b); err == nil {
			if !bytes.Equal(AppendCommandComplete(nil, string(tag))[5:], b) {
				t.Fatal("CommandComplete round trip")
			}
			if _, rows, ok := CommandTag(tag); ok && rows < 0 {
				t.Fatal("negative row count")
			}
		}
		if pid, key, err := DecodeBackendKeyData(b); err == nil {
			if !bytes.Equal(AppendBackendKeyData(nil, pid, key)[5:], b) {
				t.Fatal("BackendKeyData round trip")
			}
		}
		if q, err := DecodeQuery(b); err == nil {
			if !bytes.Equal(AppendQuery(nil, string(q))[5:], b) {
				t.Fatal("Query round trip")
			}
		}
	})
}

func FuzzStartup(f *testing.F) {
	f.Add(AppendStartup(nil, "user", "app", "database", "db")[4:])
	f.Add(AppendCancelRequest(nil, 1, []byte{1, 2, 3, 4})[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		StartupCode(b)
		if pid, key, err := DecodeCancelRequest(b); err == nil {
			if !bytes.Equal(AppendCancelRequest(nil, pid, key)[4:], b) {
				t.Fatal("CancelRequest round trip")
			}
		}
		var s Startup
		if s.Decode(b) != nil {
			return
		}
		if s.Version != ProtocolVersion30 {
			return // AppendStartup writes 3.0 only
		}
		params := make([]string, len(s.Params))
		for i, p := range s.Params {
			params[i] = string(p)
		}
		if !bytes.Equal(AppendStartup(nil, params...)[4:], b) {
			t.Fatalf("Startup round trip of %q", b)
		}
	})
}

// bodyOf splits one framed message.
func bodyOf(t *testing.T, framed []byte) (byte, []byte) {
	t.Helper()
	if len(framed) < 5 {
		t.Fatalf("framed message of %d bytes", len(framed))
	}
	n := int(uint32(framed[1])<<24 | uint32(framed[2])<<16 | uint32(framed[3])<<8 | uint32(framed[4]))
	if n != len(framed)-1 {
		t.Fatalf("length word %d for %d bytes", n, len(framed))
	}
	return framed[0], framed[5:]
}
