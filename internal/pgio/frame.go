package pgio

import "encoding/binary"

// NextMessage splits the first whole message off b: its type, its body
// and what follows it. ok is false if b does not start with a whole
// message.
func NextMessage(b []byte) (typ byte, body, rest []byte, ok bool) {
	if len(b) < headerLen {
		return 0, nil, nil, false
	}
	n := int64(binary.BigEndian.Uint32(b[1:]))
	if n < 4 || n-4 > int64(len(b)-headerLen) {
		return 0, nil, nil, false
	}
	end := headerLen + int(n) - 4
	return b[0], b[headerLen:end], b[end:], true
}

// AppendMessage appends a message of type typ with body body to b, as it
// goes on the wire.
func AppendMessage(b []byte, typ byte, body []byte) []byte {
	b = append(b, typ, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(body)+4))
	return append(b, body...)
}
