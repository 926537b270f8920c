package pgio

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// body strips the type byte and length of one framed message.
func body(t *testing.T, framed []byte) (byte, []byte) {
	t.Helper()
	r := NewReader(bytes.NewReader(framed), ReaderOptions{})
	typ, b, err := r.ReadMessage()
	if err != nil {
		t.Fatalf("reading back %q: %v", framed, err)
	}
	if r.Buffered() != 0 {
		t.Fatalf("%d bytes left after one message", r.Buffered())
	}
	return typ, b
}

func encode(t *testing.T, m pgproto3.Message) []byte {
	t.Helper()
	b, err := m.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBackendMessagesMatchPgproto3(t *testing.T) {
	for _, c := range []struct {
		name string
		ours []byte
		want pgproto3.Message
	}{
		{"AuthenticationOk", AppendAuthenticationOk(nil), &pgproto3.AuthenticationOk{}},
		{"ParameterStatus", AppendParameterStatus(nil, "TimeZone", "UTC"), &pgproto3.ParameterStatus{Name: "TimeZone", Value: "UTC"}},
		{"BackendKeyData", AppendBackendKeyData(nil, 77, []byte{9, 8, 7, 6}), &pgproto3.BackendKeyData{ProcessID: 77, SecretKey: []byte{9, 8, 7, 6}}},
		{"ReadyForQuery", AppendReadyForQuery(nil, TxFailed), &pgproto3.ReadyForQuery{TxStatus: 'E'}},
		{"CommandComplete", AppendCommandComplete(nil, "INSERT 0 3"), &pgproto3.CommandComplete{CommandTag: []byte("INSERT 0 3")}},
		{"ParseComplete", AppendEmpty(nil, TypeParseComplete), &pgproto3.ParseComplete{}},
		{"BindComplete", AppendEmpty(nil, TypeBindComplete), &pgproto3.BindComplete{}},
		{"CloseComplete", AppendEmpty(nil, TypeCloseComplete), &pgproto3.CloseComplete{}},
		{"NoData", AppendEmpty(nil, TypeNoData), &pgproto3.NoData{}},
		{"EmptyQueryResponse", AppendEmpty(nil, TypeEmptyQueryResponse), &pgproto3.EmptyQueryResponse{}},
		{"Query", AppendQuery(nil, "SELECT 1"), &pgproto3.Query{String: "SELECT 1"}},
		{"Describe", AppendDescribe(nil, ObjectPortal, "p1"), &pgproto3.Describe{ObjectType: 'P', Name: "p1"}},
		{"Close", AppendClose(nil, ObjectStatement, "s1"), &pgproto3.Close{ObjectType: 'S', Name: "s1"}},
		{"Execute", AppendExecute(nil, "p1", 100), &pgproto3.Execute{Portal: "p1", MaxRows: 100}},
		{"Sync", AppendEmpty(nil, TypeSync), &pgproto3.Sync{}},
		{"Flush", AppendEmpty(nil, TypeFlush), &pgproto3.Flush{}},
		{"Terminate", AppendEmpty(nil, TypeTerminate), &pgproto3.Terminate{}},
		{"CancelRequest", AppendCancelRequest(nil, 5, []byte{1, 2, 3, 4}), &pgproto3.CancelRequest{ProcessID: 5, SecretKey: []byte{1, 2, 3, 4}}},
		{"SSLRequest", AppendSSLRequest(nil), &pgproto3.SSLRequest{}},
	} {
		if want := encode(t, c.want); !bytes.Equal(c.ours, want) {
			t.Errorf("%s:\n ours %q\n pgx  %q", c.name, c.ours, want)
		}
	}
}

func TestBackendDecoders(t *testing.T) {
	_, b := body(t, AppendReadyForQuery(nil, TxInBlock))
	if s, err := DecodeReadyForQuery(b); err != nil || s != TxInBlock {
		t.Fatalf("ReadyForQuery = %v %v", s, err)
	}
	if _, err := DecodeReadyForQuery([]byte("X")); err == nil {
		t.Fatal("bad status accepted")
	}
	_, b = body(t, AppendParameterStatus(nil, "client_encoding", "UTF8"))
	if n, v, err := DecodeParameterStatus(b); err != nil || string(n) != "client_encoding" || string(v) != "UTF8" {
		t.Fatalf("ParameterStatus = %q %q %v", n, v, err)
	}
	_, b = body(t, AppendCommandComplete(nil, "SELECT 42"))
	if tag, err := DecodeCommandComplete(b); err != nil || string(tag) != "SELECT 42" {
		t.Fatalf("CommandComplete = %q %v", tag, err)
	}
	_, b = body(t, AppendBackendKeyData(nil, 1234, []byte{1, 2, 3, 4}))
	if pid, key, err := DecodeBackendKeyData(b); err != nil || pid != 1234 || !bytes.Equal(key, []byte{1, 2, 3, 4}) {
		t.Fatalf("BackendKeyData = %d %v %v", pid, key, err)
	}
	if _, _, err := DecodeBackendKeyData([]byte{0, 0, 0}); err == nil {
		t.Fatal("short BackendKeyData accepted")
	}
}

func TestCommandTag(t *testing.T) {
	for tag, want := range map[string]struct {
		cmd  string
		rows int64
		ok   bool
	}{
		"INSERT 0 5":   {"INSERT", 5, true},
		"UPDATE 3":     {"UPDATE", 3, true},
		"SELECT 0":     {"SELECT", 0, true},
		"CREATE TABLE": {"CREATE TABLE", 0, false},
		"BEGIN":        {"BEGIN", 0, false},
		"COPY 12":      {"COPY", 12, true},
		"SELECT -1":    {"SELECT -1", 0, false},
	} {
		cmd, rows, ok := CommandTag([]byte(tag))
		if string(cmd) != want.cmd || rows != want.rows || ok != want.ok {
			t.Errorf("CommandTag(%q) = %q %d %v", tag, cmd, rows, ok)
		}
	}
}

func TestFrontendMessagesRoundTripThroughPgproto3(t *testing.T) {
	pgParse := &pgproto3.Parse{Name: "s1", Query: "SELECT $1::int, $2", ParameterOIDs: []uint32{23, 25}}
	_, b := body(t, encode(t, pgParse))
	var p Parse
	if err := p.Decode(b); err != nil {
		t.Fatal(err)
	}
	if string(p.Name) != "s1" || string(p.Query) != pgParse.Query || p.ParamOIDs.Len() != 2 || p.ParamOIDs.At(1) != 25 {
		t.Fatalf("Parse = %+v", p)
	}
	if got := p.Append(nil); !bytes.Equal(got, encode(t, pgParse)) {
		t.Fatalf("Parse re-encoded differently: %q", got)
	}

	pgBind := &pgproto3.Bind{
		DestinationPortal: "p", PreparedStatement: "s1",
		ParameterFormatCodes: []int16{1, 0, 0},
		Parameters:           [][]byte{{0, 0, 0, 7}, nil, {}},
		ResultFormatCodes:    []int16{1},
	}
	_, b = body(t, encode(t, pgBind))
	var bind Bind
	if err := bind.Decode(b); err != nil {
		t.Fatal(err)
	}
	if string(bind.Portal) != "p" || string(bind.Statement) != "s1" || len(bind.Params) != 3 ||
		bind.Params[1] != nil || bind.Params[2] == nil || len(bind.Params[2]) != 0 ||
		bind.ParamFormats.Format(0) != 1 || bind.ParamFormats.Format(2) != 0 || bind.ResultFormats.Format(5) != 1 {
		t.Fatalf("Bind = %+v", bind)
	}
	if got := bind.Append(nil); !bytes.Equal(got, encode(t, pgBind)) {
		t.Fatalf("Bind re-encoded differently: %q", got)
	}

	var d Describe
	_, b = body(t, encode(t, &pgproto3.Describe{ObjectType: 'S', Name: "s1"}))
	if err := d.Decode(b); err != nil || d.Type != ObjectStatement || string(d.Name) != "s1" {
		t.Fatalf("Describe = %+v %v", d, err)
	}
	var c Close
	_, b = body(t, encode(t, &pgproto3.Close{ObjectType: 'P', Name: ""}))
	if err := c.Decode(b); err != nil || c.Type != ObjectPortal || len(c.Name) != 0 {
		t.Fatalf("Close = %+v %v", c, err)
	}
	var e Execute
	_, b = body(t, encode(t, &pgproto3.Execute{Portal: "p", MaxRows: 10}))
	if err := e.Decode(b); err != nil || string(e.Portal) != "p" || e.MaxRows != 10 {
		t.Fatalf("Execute = %+v %v", e, err)
	}
	if !bytes.Equal(e.Append(nil), AppendExecute(nil, "p", 10)) || !bytes.Equal(d.Append(nil), AppendDescribe(nil, 'S', "s1")) ||
		!bytes.Equal(c.Append(nil), AppendClose(nil, 'P', "")) {
		t.Fatal("struct and function encodings differ")
	}
	q, err := DecodeQuery([]byte("SELECT 1\x00"))
	if err != nil || string(q) != "SELECT 1" {
		t.Fatalf("Query = %q %v", q, err)
	}
}

func TestFrontendDecodersRefuseMalformedBodies(t *testing.T) {
	for name, c := range map[string]struct {
		dec  func([]byte) error
		body []byte
	}{
		"Parse unterminated":     {new(Parse).Decode, []byte("s1")},
		"Parse short oids":       {new(Parse).Decode, []byte("\x00SELECT\x00\x00\x02\x00\x00\x00\x17")},
		"Parse trailing":         {new(Parse).Decode, []byte("\x00q\x00\x00\x00x")},
		"Bind negative length":   {new(Bind).Decode, []byte("\x00\x00\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x00")},
		"Bind value past end":    {new(Bind).Decode, []byte("\x00\x00\x00\x00\x00\x01\x00\x00\x00\x09ab\x00\x00")},
		"Bind formats mismatch":  {new(Bind).Decode, []byte("\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00")},
		"Describe bad kind":      {new(Describe).Decode, []byte("Xname\x00")},
		"Close empty":            {new(Close).Decode, nil},
		"Execute short":          {new(Execute).Decode, []byte("p\x00\x00\x00")},
		"Startup no terminator":  {new(Startup).Decode, []byte("\x00\x03\x00\x00user\x00app\x00")},
		"Startup dangling name":  {new(Startup).Decode, []byte("\x00\x03\x00\x00user\x00")},
		"ErrorResponse no end":   {func(b []byte) error { _, err := DecodeErrorFields(b); return err }, []byte("SERROR\x00")},
		"CancelRequest wrong id": {func(b []byte) error { _, _, err := DecodeCancelRequest(b); return err }, []byte("\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01")},
	} {
		err := c.dec(c.body)
		e, ok := sqlerr.As(err)
		if !ok || e.Code != sqlerr.ProtocolViolation {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestErrorFieldsKeepEverythingTheServerSent(t *testing.T) {
	server := &pgproto3.ErrorResponse{
		Severity: "FEHLER", SeverityUnlocalized: "ERROR", Code: "23505",
		Message: "duplicate key value violates unique constraint \"users_pkey\"",
		Detail:  "Key (id)=(1) already exists.", Hint: "h", Position: 15, InternalPosition: 3,
		InternalQuery: "iq", Where: "w", SchemaName: "public", TableName: "users", ColumnName: "id",
		DataTypeName: "int8", ConstraintName: "users_pkey", File: "nbtinsert.c", Line: 666,
		Routine: "_bt_check_unique", UnknownFields: map[byte]string{'Z': "future"},
	}
	_, b := body(t, encode(t, server))
	f, err := DecodeErrorFields(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Position != "15" || f.ConstraintName != "users_pkey" || f.Line != "666" || len(f.Unknown) != 1 || f.Unknown[0].Value != "future" {
		t.Fatalf("fields = %+v", f)
	}
	if got := f.Error(); got != `FEHLER: duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505)` {
		t.Fatalf("Error() = %q", got)
	}

	// Encoded again, pgproto3 reads the same fields.
	var back pgproto3.ErrorResponse
	_, b2 := body(t, AppendErrorFields(nil, TypeErrorResponse, &f))
	if err := back.Decode(b2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, server) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, *server)
	}

	// Through sqlerr and back out as an ErrorResponse, position and
	// constraint survive.
	e := f.SQLError()
	if e.Code != "23505" || e.Detail != server.Detail || e.Number == 0 {
		t.Fatalf("SQLError = %+v", e)
	}
	_, b3 := body(t, AppendErrorResponse(nil, SeverityError, e))
	back = pgproto3.ErrorResponse{}
	if err := back.Decode(b3); err != nil {
		t.Fatal(err)
	}
	if back.Severity != "ERROR" || back.Position != 15 || back.ConstraintName != "users_pkey" || back.Message != server.Message {
		t.Fatalf("via sqlerr: %+v", back)
	}
}

func TestErrorResponseFromSQLError(t *testing.T) {
	e := sqlerr.New(sqlerr.TooManyConnections, "no server connection to %s available within 5s", "shard0").WithHint("raise max_server_conns_per_node")
	_, b := body(t, AppendErrorResponse(nil, SeverityFatal, e))
	var back pgproto3.ErrorResponse
	if err := back.Decode(b); err != nil {
		t.Fatal(err)
	}
	if back.Severity != "FATAL" || back.SeverityUnlocalized != "FATAL" || back.Code != "53300" ||
		back.Message != e.Message || back.Hint != e.Hint || back.Detail != "" {
		t.Fatalf("got %+v", back)
	}
	if !bytes.Contains(AppendErrorResponse(nil, SeverityError, &sqlerr.Error{Message: "x"}), []byte("CXX000\x00")) {
		t.Fatal("an error without a code must go out as XX000")
	}
}

func TestWriterHelpersAndWriteMessage(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, WriterOptions{})
	w.WriteAuthenticationOk()
	w.WriteParameterStatus("server_version", "15.0")
	w.WriteBackendKeyData(1, []byte{0, 0, 0, 2})
	w.WriteParseComplete()
	w.WriteBindComplete()
	w.WriteCloseComplete()
	w.WriteNoData()
	w.WriteEmptyQueryResponse()
	w.WriteCommandComplete("SELECT 1")
	w.WriteErrorResponse(SeverityError, sqlerr.New(sqlerr.SyntaxError, "bad"))
	w.WriteErrorFields(TypeNoticeResponse, &ErrorFields{Severity: "NOTICE", Code: "00000", Message: "hi"})
	w.WriteReadyForQuery(TxIdle)
	w.WriteQuery("SELECT 1")
	w.WriteParse(&Parse{Name: []byte("s"), Query: []byte("SELECT $1"), ParamOIDs: Uint32s(AppendUint32s(nil, 23))})
	w.WriteBind(&Bind{Statement: []byte("s"), ParamFormats: Int16s(AppendInt16s(nil, 0)), Params: [][]byte{[]byte("1")}})
	w.WriteDescribe(ObjectPortal, "")
	w.WriteExecute("", 0)
	w.WriteClose(ObjectStatement, "s")
	w.WriteSync()
	w.WriteFlush()
	w.WriteTerminate()
	if err := w.WriteMessage(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("x"), DataTypeOID: 23, DataTypeSize: 4}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	types, _ := readAll(t, NewReader(&out, ReaderOptions{}))
	if got, want := string(types), "RSK123nICENZQPBDECSHXT"; got != want {
		t.Fatalf("types = %q, want %q", got, want)
	}
}
