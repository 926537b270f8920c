package pgio

import "encoding/binary"

// Messages a client (or the proxy, speaking as one) sends to a server.
// The decoded types are views into the message body: their []byte fields
// alias it and are valid only as long as the body is. Names are given
// without their terminating NUL. Reusing one value per session for
// Decode keeps decoding free of allocations.

// Uint32s is a view of big-endian 32-bit values, such as a Parse
// message's parameter type OIDs.
type Uint32s []byte

// Len is the number of values.
func (v Uint32s) Len() int { return len(v) / 4 }

// At returns the i-th value.
func (v Uint32s) At(i int) uint32 { return binary.BigEndian.Uint32(v[4*i:]) }

// AppendUint32s appends vals in wire form to dst; the result's tail is
// their view.
func AppendUint32s(dst []byte, vals ...uint32) []byte {
	for _, x := range vals {
		dst = appendUint32(dst, x)
	}
	return dst
}

// Int16s is a view of big-endian 16-bit values, such as format codes
// (0 text, 1 binary).
type Int16s []byte

// Len is the number of values.
func (v Int16s) Len() int { return len(v) / 2 }

// At returns the i-th value.
func (v Int16s) At(i int) int16 { return int16(binary.BigEndian.Uint16(v[2*i:])) }

// AppendInt16s appends vals in wire form to dst.
func AppendInt16s(dst []byte, vals ...int16) []byte {
	for _, x := range vals {
		dst = appendUint16(dst, uint16(x))
	}
	return dst
}

// Format returns the format code of parameter or column i by the
// protocol's rule: no codes means all text, one code applies to all,
// otherwise there is one per parameter or column.
func (v Int16s) Format(i int) int16 {
	switch v.Len() {
	case 0:
		return 0
	case 1:
		return v.At(0)
	default:
		if i < v.Len() {
			return v.At(i)
		}
		return 0
	}
}

// DecodeQuery returns the SQL text of a Query message as a view into body.
func DecodeQuery(body []byte) ([]byte, error) {
	d := decoder{b: body, msg: "Query"}
	q := d.cstring()
	if err := d.end(); err != nil {
		return nil, err
	}
	return q, nil
}

// AppendQuery appends a Query message.
func AppendQuery(dst []byte, sql string) []byte {
	dst, start := begin(dst, TypeQuery)
	dst = appendCString(dst, sql)
	return finish(dst, start)
}

// Parse is a Parse message: prepare Query as statement Name ("" is the
// unnamed statement).
type Parse struct {
	Name      []byte
	Query     []byte
	ParamOIDs Uint32s
}

// Decode decodes a Parse body into p.
func (p *Parse) Decode(body []byte) error {
	d := decoder{b: body, msg: "Parse"}
	p.Name = d.cstring()
	p.Query = d.cstring()
	n := int(d.uint16())
	p.ParamOIDs = Uint32s(d.bytes(4 * n))
	return d.end()
}

// Append appends p as a Parse message.
func (p *Parse) Append(dst []byte) []byte {
	dst, start := begin(dst, TypeParse)
	dst = appendCStringBytes(dst, p.Name)
	dst = appendCStringBytes(dst, p.Query)
	dst = appendUint16(dst, uint16(p.ParamOIDs.Len()))
	dst = append(dst, p.ParamOIDs[:4*p.ParamOIDs.Len()]...)
	return finish(dst, start)
}

// Bind is a Bind message: bind Params to statement Statement as portal
// Portal. A NULL parameter is a nil element of Params; an empty value is
// a non-nil empty slice.
type Bind struct {
	Portal        []byte
	Statement     []byte
	ParamFormats  Int16s
	Params        [][]byte
	ResultFormats Int16s
}

// Decode decodes a Bind body into b, reusing b.Params' backing array.
func (b *Bind) Decode(body []byte) error {
	d := decoder{b: body, msg: "Bind"}
	b.Portal = d.cstring()
	b.Statement = d.cstring()
	nf := int(d.uint16())
	b.ParamFormats = Int16s(d.bytes(2 * nf))
	np := int(d.uint16())
	b.Params = b.Params[:0]
	for i := 0; i < np && d.err == nil; i++ {
		n := int32(d.uint32())
		switch {
		case n == -1:
			b.Params = append(b.Params, nil)
		case n < -1:
			d.fail("invalid parameter length")
		default:
			b.Params = append(b.Params, d.bytes(int(n)))
		}
	}
	nr := int(d.uint16())
	b.ResultFormats = Int16s(d.bytes(2 * nr))
	if d.err == nil && nf > 1 && nf != np {
		d.fail("parameter format codes do not match parameters")
	}
	if err := d.end(); err != nil {
		b.Params = b.Params[:0]
		return err
	}
	return nil
}

// Append appends b as a Bind message.
func (b *Bind) Append(dst []byte) []byte {
	dst, start := begin(dst, TypeBind)
	dst = appendCStringBytes(dst, b.Portal)
	dst = appendCStringBytes(dst, b.Statement)
	dst = appendUint16(dst, uint16(b.ParamFormats.Len()))
	dst = append(dst, b.ParamFormats[:2*b.ParamFormats.Len()]...)
	dst = appendUint16(dst, uint16(len(b.Params)))
	for _, p := range b.Params {
		if p == nil {
			dst = appendUint32(dst, 0xFFFFFFFF)
			continue
		}
		dst = appendUint32(dst, uint32(len(p)))
		dst = append(dst, p...)
	}
	dst = appendUint16(dst, uint16(b.ResultFormats.Len()))
	dst = append(dst, b.ResultFormats[:2*b.ResultFormats.Len()]...)
	return finish(dst, start)
}

// Describe is a Describe message for a statement or a portal.
type Describe struct {
	Type ObjectType
	Name []byte
}

// Decode decodes a Describe body into m.
func (m *Describe) Decode(body []byte) error {
	t, name, err := decodeObject(body, "Describe")
	m.Type, m.Name = t, name
	return err
}

// Append appends m as a Describe message.
func (m *Describe) Append(dst []byte) []byte {
	return appendObject(dst, TypeDescribe, m.Type, m.Name)
}

// Close is a Close message for a statement or a portal.
type Close struct {
	Type ObjectType
	Name []byte
}

// Decode decodes a Close body into m.
func (m *Close) Decode(body []byte) error {
	t, name, err := decodeObject(body, "Close")
	m.Type, m.Name = t, name
	return err
}

// Append appends m as a Close message.
func (m *Close) Append(dst []byte) []byte {
	return appendObject(dst, TypeClose, m.Type, m.Name)
}

func decodeObject(body []byte, msg string) (ObjectType, []byte, error) {
	d := decoder{b: body, msg: msg}
	t := ObjectType(d.byte1())
	if d.err == nil && t != ObjectStatement && t != ObjectPortal {
		d.fail("invalid object type")
	}
	name := d.cstring()
	if err := d.end(); err != nil {
		return 0, nil, err
	}
	return t, name, nil
}

func appendObject(dst []byte, typ byte, t ObjectType, name []byte) []byte {
	dst, start := begin(dst, typ)
	dst = append(dst, byte(t))
	dst = appendCStringBytes(dst, name)
	return finish(dst, start)
}

// Execute is an Execute message: run portal Portal, returning at most
// MaxRows rows (0: all).
type Execute struct {
	Portal  []byte
	MaxRows uint32
}

// Decode decodes an Execute body into m.
func (m *Execute) Decode(body []byte) error {
	d := decoder{b: body, msg: "Execute"}
	m.Portal = d.cstring()
	m.MaxRows = d.uint32()
	return d.end()
}

// Append appends m as an Execute message.
func (m *Execute) Append(dst []byte) []byte {
	dst, start := begin(dst, TypeExecute)
	dst = appendCStringBytes(dst, m.Portal)
	dst = appendUint32(dst, m.MaxRows)
	return finish(dst, start)
}

// AppendDescribe appends a Describe message.
func AppendDescribe(dst []byte, t ObjectType, name string) []byte {
	dst, start := begin(dst, TypeDescribe)
	dst = append(dst, byte(t))
	dst = appendCString(dst, name)
	return finish(dst, start)
}

// AppendClose appends a Close message.
func AppendClose(dst []byte, t ObjectType, name string) []byte {
	dst, start := begin(dst, TypeClose)
	dst = append(dst, byte(t))
	dst = appendCString(dst, name)
	return finish(dst, start)
}

// AppendExecute appends an Execute message.
func AppendExecute(dst []byte, portal string, maxRows uint32) []byte {
	dst, start := begin(dst, TypeExecute)
	dst = appendCString(dst, portal)
	dst = appendUint32(dst, maxRows)
	return finish(dst, start)
}

// AppendCancelRequest appends a CancelRequest packet (untyped).
func AppendCancelRequest(dst []byte, pid uint32, key []byte) []byte {
	dst = appendUint32(dst, uint32(12+len(key)))
	dst = appendUint32(dst, CancelRequestCode)
	dst = appendUint32(dst, pid)
	return append(dst, key...)
}

// AppendSSLRequest appends an SSLRequest packet (untyped).
func AppendSSLRequest(dst []byte) []byte {
	dst = appendUint32(dst, 8)
	return appendUint32(dst, SSLRequestCode)
}

func appendCStringBytes(dst, s []byte) []byte {
	for _, c := range s {
		if c == 0 {
			break
		}
		dst = append(dst, c)
	}
	return append(dst, 0)
}

// Writer helpers for the messages above.

// WriteQuery writes a Query message.
func (w *Writer) WriteQuery(sql string) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendQuery(w.next(), sql))
}

// WriteParse writes a Parse message.
func (w *Writer) WriteParse(p *Parse) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(p.Append(w.next()))
}

// WriteBind writes a Bind message.
func (w *Writer) WriteBind(b *Bind) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(b.Append(w.next()))
}

// WriteDescribe writes a Describe message.
func (w *Writer) WriteDescribe(t ObjectType, name string) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendDescribe(w.next(), t, name))
}

// WriteExecute writes an Execute message.
func (w *Writer) WriteExecute(portal string, maxRows uint32) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendExecute(w.next(), portal, maxRows))
}

// WriteClose writes a Close message.
func (w *Writer) WriteClose(t ObjectType, name string) error {
	if w.err != nil {
		return w.err
	}
	return w.appended(AppendClose(w.next(), t, name))
}

// WriteSync writes Sync ('S').
func (w *Writer) WriteSync() error { return w.WriteEmpty(TypeSync) }

// WriteFlush writes Flush ('H'); it asks the server to send what it has,
// and is unrelated to Writer.Flush.
func (w *Writer) WriteFlush() error { return w.WriteEmpty(TypeFlush) }

// WriteTerminate writes Terminate ('X').
func (w *Writer) WriteTerminate() error { return w.WriteEmpty(TypeTerminate) }
