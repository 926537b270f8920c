package mysql

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	vmysql "vitess.io/vitess/go/mysql"
)

// PacketKind says what a packet handed to a PacketSink is.
type PacketKind uint8

const (
	// PacketColumnCount starts a result set: the number of columns.
	PacketColumnCount PacketKind = iota
	// PacketColumn is one column definition.
	PacketColumn
	// PacketColumnsEnd has no packet: the column definitions are over,
	// where a client without CLIENT_DEPRECATE_EOF expects an EOF (the
	// server's own, if it sent one, is not handed on: its framing is the
	// backend connection's, not the client's).
	PacketColumnsEnd
	// PacketRow is one text-protocol row.
	PacketRow
)

func (k PacketKind) String() string {
	switch k {
	case PacketColumnCount:
		return "column-count"
	case PacketColumn:
		return "column"
	case PacketColumnsEnd:
		return "columns-end"
	case PacketRow:
		return "row"
	}
	return "unknown"
}

// PacketSink receives the packets of a result set as Forward reads them.
type PacketSink interface {
	// Packet gets one whole packet (its continuation packets joined): the
	// payload is p[4:], and p[:4] is room for a header (the layout of
	// vitess's Conn.WritePacket). p is Forward's buffer: it is only valid
	// until Packet returns, and Packet may overwrite it. An error stops
	// Forward, which then leaves the connection broken (the rest of the
	// result is unread).
	Packet(kind PacketKind, p []byte) error
}

// Summary is what Forward learned of a statement's result: its result
// set (Columns > 0, Rows) or its OK (RowsAffected, InsertID), and the
// warning count of its last packet.
type Summary struct {
	Columns      int
	Rows         uint64
	RowsAffected uint64
	InsertID     uint64
	Warnings     uint16
}

// maxColumnCount is the largest column count taken from a server: what
// fits an int on every platform. A real result is far below it (each
// column costs a definition packet); it only keeps a corrupt count from
// overflowing Summary.Columns.
const maxColumnCount = math.MaxInt32

// maxKeptBuffer bounds the read buffer a Conn keeps between statements: a
// huge row's buffer is dropped once it is forwarded.
const maxKeptBuffer = 64 << 10

// Forward runs one statement as text and hands its result set's packets
// to sink as they arrive, without decoding them into values: the proxy's
// one-shard path, which costs no allocation per row. The terminal EOF or
// OK is read here, not handed on: it sets StatusFlags and fills the
// Summary. A statement answered with OK hands sink nothing.
//
// Errors are Exec's: a server's ERR is a *sqlerr.Error with its number
// and SQLSTATE (whether before or after some rows; the connection is
// fine), anything else leaves the connection broken. The statement must
// return one result (no CALL, no multi-statement text).
func (c *Conn) Forward(sql string, sink PacketSink) (Summary, error) {
	if c.broken.Load() {
		return Summary{}, lostError(c.node, errors.New("connection marked broken"))
	}
	c.giveBackIfAsked()
	if len(sql)+1 < vmysql.MaxPacketSize {
		// One packet, written from the connection's own buffer and its
		// answer read with its own reader (prepared.go's path): no
		// ephemeral buffer of vitess's per statement.
		if err := c.ownStart(); err != nil {
			return Summary{}, err
		}
		defer c.ownEnd()
		n := len(sql) + 1
		b := c.closePackets(c.wbuf[:0])
		b = append(b, byte(n), byte(n>>8), byte(n>>16), 0, comQuery)
		b = append(b, sql...)
		if c.wbuf = b; cap(c.wbuf) > maxKeptBuffer {
			c.wbuf = nil
		}
		if err := c.ownWrite(b); err != nil {
			return Summary{}, err
		}
		return c.forwardResult(sink)
	}
	defer func() {
		if cap(c.rbuf) > maxKeptBuffer {
			c.rbuf = nil
		}
	}()
	if err := c.c.WriteComQuery(sql); err != nil {
		return Summary{}, c.execError(err)
	}
	return c.forwardResult(sink)
}

// forwardResult reads a statement's answer (text rows after COM_QUERY,
// binary rows after COM_STMT_EXECUTE: both start with a byte that is
// neither 0xfe nor 0xff unless the value is 16 MiB or more) and hands its
// result set on to sink.
func (c *Conn) forwardResult(sink PacketSink) (Summary, error) {
	p, err := c.readPacket()
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	switch p[4] {
	case 0x00: // OK: no result set
		ok, good := parseOK(p[4:])
		if !good {
			return sum, c.protocolError("malformed OK packet")
		}
		c.flags = ok.flags &^ StatusMoreResults
		sum.RowsAffected, sum.InsertID, sum.Warnings = ok.affected, ok.insertID, ok.warnings
		return sum, c.noMoreResults(ok.flags)
	case 0xff:
		return sum, c.execError(vmysql.ParseErrorPacket(p[4:]))
	case 0xfb:
		return sum, c.protocolError("LOCAL INFILE request")
	}
	// Any count the server sends is taken: 4096 bounds a table's columns,
	// not a select list's (SELECT 1, 2, … has as many as it likes). Nothing
	// is held per column here: each definition goes on as it comes.
	n, _, ok := LenEnc(p[4:], 0)
	if !ok || n == 0 || n > maxColumnCount {
		return sum, c.protocolError("malformed column count")
	}
	sum.Columns = int(n)
	if err := c.toSink(sink, PacketColumnCount, p); err != nil {
		return sum, err
	}
	for range sum.Columns {
		if p, err = c.readPacket(); err != nil {
			return sum, err
		}
		if p[4] == 0xff {
			return sum, c.execError(vmysql.ParseErrorPacket(p[4:]))
		}
		if err := c.toSink(sink, PacketColumn, p); err != nil {
			return sum, err
		}
	}
	deprecateEOF := c.c.Capabilities&vmysql.CapabilityClientDeprecateEOF != 0
	if !deprecateEOF {
		if p, err = c.readPacket(); err != nil {
			return sum, err
		}
		switch {
		case p[4] == 0xff:
			return sum, c.execError(vmysql.ParseErrorPacket(p[4:]))
		case p[4] != 0xfe || len(p) >= 4+9:
			return sum, c.protocolError("no EOF after the column definitions")
		}
	}
	if err := c.toSink(sink, PacketColumnsEnd, nil); err != nil {
		return sum, err
	}
	for {
		if p, err = c.readPacket(); err != nil {
			return sum, err
		}
		payload := p[4:]
		switch {
		case payload[0] == 0xff:
			return sum, c.execError(vmysql.ParseErrorPacket(payload))
		case payload[0] == 0xfe && c.firstFrame < vmysql.MaxPacketSize && (deprecateEOF || len(payload) < 9):
			// The end: an EOF, or (CLIENT_DEPRECATE_EOF) an OK with the
			// EOF header. A row starting with 0xfe holds a value of 16 MiB
			// or more: its first frame is a full one.
			var flags uint16
			if deprecateEOF {
				ok, good := parseOK(payload)
				if !good {
					return sum, c.protocolError("malformed OK packet ending the rows")
				}
				flags, sum.Warnings = ok.flags, ok.warnings
			} else {
				if len(payload) < 5 {
					return sum, c.protocolError("malformed EOF packet")
				}
				sum.Warnings = binary.LittleEndian.Uint16(payload[1:])
				flags = binary.LittleEndian.Uint16(payload[3:])
			}
			c.flags = flags &^ StatusMoreResults
			return sum, c.noMoreResults(flags)
		}
		sum.Rows++
		if err := c.toSink(sink, PacketRow, p); err != nil {
			return sum, err
		}
	}
}

// toSink hands a packet on; the sink's failure (the client is gone)
// leaves the rest of the result unread, so the connection is broken.
func (c *Conn) toSink(sink PacketSink, kind PacketKind, p []byte) error {
	if err := sink.Packet(kind, p); err != nil {
		c.MarkBroken()
		return err
	}
	return nil
}

// noMoreResults: Forward is for one result. A statement that announced
// more (a CALL) leaves unread results: the connection is given up.
func (c *Conn) noMoreResults(flags uint16) error {
	if flags&StatusMoreResults == 0 {
		return nil
	}
	c.MarkBroken()
	return lostError(c.node, errors.New("a statement forwarded as one result returned several"))
}

// readPacket reads one packet, joining its continuation frames, into the
// connection's buffer after 4 bytes of room for a header. vitess's
// ReadHeaderInto / ReadDataInto read from its buffered reader into ours,
// so a packet costs no allocation once the buffer has grown.
func (c *Conn) readPacket() ([]byte, error) {
	buf := append(c.rbuf[:0], 0, 0, 0, 0)
	for {
		var n int
		var err error
		if c.own {
			n, err = c.ownHeader()
		} else {
			n, err = c.c.ReadHeaderInto(c.hdr[:])
		}
		if err != nil {
			c.MarkBroken()
			return nil, lostError(c.node, err)
		}
		if len(buf) == 4 {
			c.firstFrame = n
		}
		start := len(buf)
		if cap(buf)-start < n {
			grown := make([]byte, start, start+n+start/4)
			copy(grown, buf)
			buf = grown
		}
		buf = buf[:start+n]
		if c.own {
			_, err = io.ReadFull(c.br, buf[start:])
		} else {
			err = c.c.ReadDataInto(buf[start:])
		}
		if err != nil {
			c.MarkBroken()
			return nil, lostError(c.node, err)
		}
		if n < vmysql.MaxPacketSize {
			break
		}
	}
	c.rbuf = buf
	if len(buf) == 4 {
		c.MarkBroken()
		return nil, lostError(c.node, errors.New("empty packet from the server"))
	}
	return buf, nil
}

func (c *Conn) protocolError(what string) error {
	c.MarkBroken()
	return lostError(c.node, fmt.Errorf("protocol error: %s", what))
}

type okPacket struct {
	affected, insertID uint64
	flags, warnings    uint16
}

// parseOK reads an OK packet's numbers (its header byte is 0x00, or 0xfe
// at the end of rows under CLIENT_DEPRECATE_EOF); what follows the
// warnings (info, session state) is not needed.
func parseOK(b []byte) (okPacket, bool) {
	var ok okPacket
	var good bool
	pos := 1
	if ok.affected, pos, good = LenEnc(b, pos); !good {
		return ok, false
	}
	if ok.insertID, pos, good = LenEnc(b, pos); !good {
		return ok, false
	}
	if pos+4 > len(b) {
		return ok, false
	}
	ok.flags = binary.LittleEndian.Uint16(b[pos:])
	ok.warnings = binary.LittleEndian.Uint16(b[pos+2:])
	return ok, true
}

// LenEnc reads the length-encoded integer at pos of a packet's payload:
// its value and the position after it (false: cut short, or a NULL/ERR
// byte, which is no integer). The front end reads its clients' packets
// with it too.
func LenEnc(b []byte, pos int) (uint64, int, bool) {
	if pos >= len(b) {
		return 0, pos, false
	}
	switch b[pos] {
	case 0xfc:
		if pos+3 > len(b) {
			return 0, pos, false
		}
		return uint64(binary.LittleEndian.Uint16(b[pos+1:])), pos + 3, true
	case 0xfd:
		if pos+4 > len(b) {
			return 0, pos, false
		}
		return uint64(b[pos+1]) | uint64(b[pos+2])<<8 | uint64(b[pos+3])<<16, pos + 4, true
	case 0xfe:
		if pos+9 > len(b) {
			return 0, pos, false
		}
		return binary.LittleEndian.Uint64(b[pos+1:]), pos + 9, true
	case 0xfb, 0xff:
		return 0, pos, false
	}
	return uint64(b[pos]), pos + 1, true
}
