package pgio

import "bytes"

// Messages a server (or the proxy, speaking as one) sends to a client.

// AppendAuthenticationOk appends AuthenticationOk.
func AppendAuthenticationOk(dst []byte) []byte {
	return append(dst, TypeAuthentication, 0, 0, 0, 8, 0, 0, 0, 0)
}

// AppendParameterStatus appends ParameterStatus name=value.
func AppendParameterStatus(dst []byte, name, value string) []byte {
	dst, start := begin(dst, TypeParameterStatus)
	dst = appendCString(dst, name)
	dst = appendCString(dst, value)
	return finish(dst, start)
}

// AppendBackendKeyData appends BackendKeyData; key is 4 bytes in protocol
// 3.0.
func AppendBackendKeyData(dst []byte, pid uint32, key []byte) []byte {
	dst, start := begin(dst, TypeBackendKeyData)
	dst = appendUint32(dst, pid)
	dst = append(dst, key...)
	return finish(dst, start)
}

// AppendReadyForQuery appends ReadyForQuery with status s.
func AppendReadyForQuery(dst []byte, s TxStatus) []byte {
	return append(dst, TypeReadyForQuery, 0, 0, 0, 5, byte(s))
}

// AppendCommandComplete appends CommandComplete with tag (e.g. "SELECT 1").
func AppendCommandComplete(dst []byte, tag string) []byte {
	dst, start := begin(dst, TypeCommandComplete)
	dst = appendCString(dst, tag)
	return finish(dst, start)
}

// AppendEmpty appends a message without a body, such as ParseComplete,
// BindComplete, CloseComplete, NoData, EmptyQueryResponse, Sync, Flush or
// Terminate.
func AppendEmpty(dst []byte, typ byte) []byte {
	return append(dst, typ, 0, 0, 0, 4)
}

// DecodeReadyForQuery returns the transaction status of a ReadyForQuery.
func DecodeReadyForQuery(body []byte) (TxStatus, error) {
	if len(body) != 1 || !TxStatus(body[0]).Valid() {
		return 0, malformed("ReadyForQuery", "bad transaction status")
	}
	return TxStatus(body[0]), nil
}

// DecodeParameterStatus returns the name and value of a ParameterStatus as
// views into body.
func DecodeParameterStatus(body []byte) (name, value []byte, err error) {
	d := decoder{b: body, msg: "ParameterStatus"}
	name = d.cstring()
	value = d.cstring()
	if err := d.end(); err != nil {
		return nil, nil, err
	}
	return name, value, nil
}

// DecodeCommandComplete returns the tag of a CommandComplete as a view into
// body.
func DecodeCommandComplete(body []byte) (tag []byte, err error) {
	d := decoder{b: body, msg: "CommandComplete"}
	tag = d.cstring()
	if err := d.end(); err != nil {
		return nil, err
	}
	return tag, nil
}

// DecodeBackendKeyData returns the process id and secret key of a
// BackendKeyData; the key is a view into body (4 bytes in protocol 3.0, up
// to 256 in 3.2).
func DecodeBackendKeyData(body []byte) (pid uint32, key []byte, err error) {
	if len(body) < 8 || len(body) > 4+256 {
		return 0, nil, malformed("BackendKeyData", "bad length")
	}
	d := decoder{b: body, msg: "BackendKeyData"}
	pid = d.uint32()
	return pid, d.bytes(len(body) - 4), nil
}

// CommandTag splits a CommandComplete tag into its command word and the
// row count that ends it: "INSERT 0 5" is ("INSERT", 5, true), "UPDATE 3"
// ("UPDATE", 3, true), "CREATE TABLE" ("CREATE TABLE", 0, false).
func CommandTag(tag []byte) (command []byte, rows int64, ok bool) {
	i := bytes.LastIndexByte(tag, ' ')
	if i < 0 {
		return tag, 0, false
	}
	n, numeric := parseRowCount(tag[i+1:])
	if !numeric {
		return tag, 0, false
	}
	cmd := tag[:i]
	if bytes.HasPrefix(cmd, []byte("INSERT ")) {
		cmd = cmd[:len("INSERT")] // "INSERT oid rows"
	}
	return cmd, n, true
}

// parseRowCount parses a non-negative decimal without allocating.
func parseRowCount(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 { // 18 digits cannot overflow
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func appendCString(dst []byte, s string) []byte {
	if i := indexNUL(s); i >= 0 {
		s = s[:i]
	}
	dst = append(dst, s...)
	return append(dst, 0)
}

func appendUint32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendUint16(dst []byte, v uint16) []byte {
	return append(dst, byte(v>>8), byte(v))
}

// Writer helpers for the messages above.

// WriteAuthenticationOk writes AuthenticationOk.
func (w *Writer) WriteAuthenticationOk() error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendAuthenticationOk(w.next()))
}

// WriteParameterStatus writes ParameterStatus name=value.
func (w *Writer) WriteParameterStatus(name, value string) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendParameterStatus(w.next(), name, value))
}

// WriteBackendKeyData writes BackendKeyData.
func (w *Writer) WriteBackendKeyData(pid uint32, key []byte) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendBackendKeyData(w.next(), pid, key))
}

// WriteReadyForQuery writes ReadyForQuery with status s.
func (w *Writer) WriteReadyForQuery(s TxStatus) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendReadyForQuery(w.next(), s))
}

// WriteCommandComplete writes CommandComplete with tag.
func (w *Writer) WriteCommandComplete(tag string) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendCommandComplete(w.next(), tag))
}

// WriteEmpty writes a message without a body (see AppendEmpty).
func (w *Writer) WriteEmpty(typ byte) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendEmpty(w.next(), typ))
}

// WriteParseComplete writes ParseComplete ('1').
func (w *Writer) WriteParseComplete() error { return w.WriteEmpty(TypeParseComplete) }

// WriteBindComplete writes BindComplete ('2').
func (w *Writer) WriteBindComplete() error { return w.WriteEmpty(TypeBindComplete) }

// WriteCloseComplete writes CloseComplete ('3').
func (w *Writer) WriteCloseComplete() error { return w.WriteEmpty(TypeCloseComplete) }

// WriteNoData writes NoData ('n').
func (w *Writer) WriteNoData() error { return w.WriteEmpty(TypeNoData) }

// WriteEmptyQueryResponse writes EmptyQueryResponse ('I').
func (w *Writer) WriteEmptyQueryResponse() error { return w.WriteEmpty(TypeEmptyQueryResponse) }
