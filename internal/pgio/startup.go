package pgio

// Startup is a StartupMessage: the protocol version and the parameters
// (user, database, options, application_name, ...), as views into the
// body.
type Startup struct {
	Version uint32
	// Params holds names and values alternately.
	Params [][]byte
}

// StartupCode returns the request code that starts every startup-phase
// packet body (see ReadStartup): ProtocolVersion30, SSLRequestCode,
// GSSENCRequestCode, CancelRequestCode, or a protocol version.
func StartupCode(body []byte) (uint32, error) {
	d := decoder{b: body, msg: "startup"}
	code := d.uint32()
	if d.err != nil {
		return 0, d.err
	}
	return code, nil
}

// Decode decodes a StartupMessage body into s, reusing s.Params' backing
// array.
func (s *Startup) Decode(body []byte) error {
	d := decoder{b: body, msg: "startup"}
	s.Version = d.uint32()
	s.Params = s.Params[:0]
	for d.err == nil {
		name := d.cstring()
		if d.err != nil {
			break
		}
		if len(name) == 0 {
			break
		}
		value := d.cstring()
		s.Params = append(s.Params, name, value)
	}
	if err := d.end(); err != nil {
		s.Params = s.Params[:0]
		return err
	}
	return nil
}

// Get returns the value of parameter name.
func (s *Startup) Get(name string) ([]byte, bool) {
	for i := 0; i+1 < len(s.Params); i += 2 {
		if string(s.Params[i]) == name {
			return s.Params[i+1], true
		}
	}
	return nil, false
}

// DecodeCancelRequest returns the process id and secret key of a
// CancelRequest body (including its request code); the key is a view into
// body.
func DecodeCancelRequest(body []byte) (pid uint32, key []byte, err error) {
	d := decoder{b: body, msg: "CancelRequest"}
	if d.uint32() != CancelRequestCode && d.err == nil {
		d.fail("not a cancel request")
	}
	pid = d.uint32()
	if d.err == nil && (len(d.b) < 4 || len(d.b) > 256) {
		d.fail("bad key length")
	}
	key = d.bytes(len(d.b))
	if err := d.end(); err != nil {
		return 0, nil, err
	}
	return pid, key, nil
}

// AppendStartup appends a StartupMessage for protocol 3.0 with the given
// name, value pairs.
func AppendStartup(dst []byte, params ...string) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendUint32(dst, ProtocolVersion30)
	for _, p := range params {
		dst = appendCString(dst, p)
	}
	dst = append(dst, 0)
	n := len(dst) - start
	dst[start], dst[start+1], dst[start+2], dst[start+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return dst
}
