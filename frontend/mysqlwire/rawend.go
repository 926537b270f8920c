package mysqlwire

import (
	"errors"
	"sync"
	"sync/atomic"
)

// A raw-forwarded result (session_raw.go) on the client's connection.
//
// vitess's command loop still wants its callback called once, and answers
// a Result without fields with an OK packet. That OK is turned here into
// the packet that ends a result set: an EOF (fe, warnings, status flags)
// for a client without CLIENT_DEPRECATE_EOF, else the same OK with the
// EOF header (fe). The OK carries what the end must: the session's status
// flags and SERVER_MORE_RESULTS_EXISTS when more statements of the text
// follow (vitess knows, the handler does not); the warning count is set
// here (vitess's OK after COM_STMT_EXECUTE has none).
//
// The result's packets reach the client one of two ways:
//
//   - direct (the usual case: the statement is the first of its command,
//     so vitess has written nothing and its next packet number is the
//     command's last plus one): the packets are numbered and written
//     here, bypassing vitess's per-packet writer (a lock, a flush timer
//     reset and a header allocation each). vitess's packet counter then
//     lags the client's by the packets written, so every packet vitess
//     writes until the next command is renumbered here (renum): its OK
//     at once, an ERR after rows, the results of a multi-statement
//     text's further statements.
//   - through vitess (a later statement of a multi-statement text): the
//     packets go through Conn.WritePacket; before calling back, the
//     session flushes vitess's buffer (holdWrites, then armEnd), so the
//     next bytes vitess writes start at the OK's header.
//
// Either way the bytes before the OK are held and written with its
// replacement: a result costs one write to the socket, as before.
//
// vitess flushes its buffer from a timer goroutine too (when a command
// runs long): the state below is under wmu.

// errRawEnd: vitess did not write the OK the session's callback asks for.
var errRawEnd = errors.New("mysqlwire: unexpected packet at the end of a forwarded result")

// heldMax bounds the bytes held before they are written.
const heldMax = 64 << 10

// rawEnd is sniffConn's write-side state for forwarded results.
type rawEnd struct {
	on  atomic.Bool // vitess's writes go through writeEnding
	wmu sync.Mutex

	// wrote: vitess wrote something since the command began (set by
	// Write; a direct result needs a command vitess has not answered
	// into yet). cmdSeq is the command's last packet number.
	wrote  atomic.Bool
	cmdSeq byte

	track    bool   // vitess's packets are parsed (renum, armed)
	renum    byte   // added to the number of every packet vitess writes
	hold     bool   // keep vitess's bytes until the OK is turned
	armed    bool   // the next packet vitess writes is the OK
	eof      bool   // the client wants an EOF (no CLIENT_DEPRECATE_EOF)
	warnings uint16 // the end's warning count

	// A direct result: the next packet number, the packets written.
	seq   byte
	count byte

	held  []byte
	hdr   [4]byte
	hdrN  int
	left  int
	body  [16]byte
	bodyN int
}

// rawDirect readies a direct result (the caller flushed vitess's buffer):
// false when vitess already wrote part of the command's answer, whose
// packet numbers are unknown here.
func (c *sniffConn) rawDirect() bool {
	e := &c.end
	if e.wrote.Load() {
		return false
	}
	c.lockEnd()
	if !e.track {
		e.track, e.hdrN, e.left = true, 0, 0
	}
	e.seq, e.count = e.cmdSeq+1+e.renum, 0
	e.on.Store(true)
	c.unlockEnd()
	return true
}

// lockEnd and unlockEnd guard the write side against vitess's flush
// timer; not while a direct command runs (direct_conn.go): vitess then
// waits in Read for the next command, its buffered writer flushed and
// gone (a timer that fires finds none), and writes nothing.
func (c *sniffConn) lockEnd() {
	if !c.directing {
		c.end.wmu.Lock()
	}
}

func (c *sniffConn) unlockEnd() {
	if !c.directing {
		c.end.wmu.Unlock()
	}
}

// rawPacket writes one packet of a direct result; p[4:] is its payload,
// p[:4] room for its header. p may be overwritten (a packet of 16 MiB or
// more is cut into frames in place).
func (c *sniffConn) rawPacket(p []byte) error {
	e := &c.end
	c.lockEnd()
	defer c.unlockEnd()
	size := len(p) - 4
	if size < maxFrame && len(e.held)+len(p) <= heldMax {
		p[0], p[1], p[2], p[3] = byte(size), byte(size>>8), byte(size>>16), e.seq
		e.seq++
		e.count++
		e.held = append(e.held, p...)
		return nil
	}
	if err := e.flushHeld(c); err != nil {
		return err
	}
	for off := 0; ; {
		n := min(size-off, maxFrame)
		// The frame's header goes over the 4 bytes before its payload:
		// the previous frame's tail, already written.
		h := p[off : off+4]
		h[0], h[1], h[2], h[3] = byte(n), byte(n>>8), byte(n>>16), e.seq
		e.seq++
		e.count++
		if _, err := c.w.Write(p[off : off+4+n]); err != nil {
			return err
		}
		off += n
		if n < maxFrame {
			return nil
		}
	}
}

const maxFrame = 0xffffff

func (e *rawEnd) flushHeld(c *sniffConn) error {
	if len(e.held) == 0 {
		return nil
	}
	_, err := c.w.Write(e.held)
	e.held = e.held[:0]
	if cap(e.held) > heldMax*2 {
		e.held = nil
	}
	return err
}

// rawDirectDone: the direct result's packets are all written; vitess's
// packets are numbered after them from now on.
func (c *sniffConn) rawDirectDone() {
	e := &c.end
	c.lockEnd()
	e.renum += e.count
	e.count = 0
	c.unlockEnd()
}

// holdWrites starts keeping what vitess writes instead of sending it.
func (c *sniffConn) holdWrites() {
	e := &c.end
	e.wmu.Lock()
	e.hold = true
	e.on.Store(true)
	e.wmu.Unlock()
}

// armEnd: the next packet vitess writes is the OK to turn into the end of
// the result set (as an EOF when eof), with warnings. vitess's written
// bytes must end at a packet's end (its buffer flushed, or nothing
// written since rawDirect).
func (c *sniffConn) armEnd(eof bool, warnings uint16) {
	e := &c.end
	e.wmu.Lock()
	if !e.track {
		e.track, e.hdrN, e.left = true, 0, 0
	}
	e.armed, e.eof, e.warnings, e.bodyN = true, eof, warnings, 0
	e.on.Store(true)
	e.wmu.Unlock()
}

// rawCommand: a new command begins (its packet number seq); vitess's
// numbering is the client's again.
func (c *sniffConn) rawCommand(seq byte) {
	e := &c.end
	e.cmdSeq = seq
	e.wrote.Store(false)
	if !e.on.Load() {
		return
	}
	e.wmu.Lock()
	e.flushHeld(c) //nolint:errcheck // nothing should be held: vitess flushed its answer
	e.stop()
	e.wmu.Unlock()
}

// stop ends what a forwarded result set up: vitess's packets go out as
// written, numbered as vitess numbers them.
func (e *rawEnd) stop() {
	e.track, e.renum, e.hold, e.armed = false, 0, false, false
	e.on.Store(false)
}

// writeEnding is Write while a forwarded result needs vitess's bytes.
func (c *sniffConn) writeEnding(p []byte) (int, error) {
	e := &c.end
	e.wmu.Lock()
	defer e.wmu.Unlock()
	n := len(p)
	if !e.track {
		e.held = append(e.held, p...)
	} else if err := e.parse(p); err != nil {
		return 0, err
	}
	if e.hold {
		return n, nil
	}
	if err := e.flushHeld(c); err != nil {
		return 0, err
	}
	return n, nil
}

// parse copies vitess's bytes to held, renumbering each packet, and turns
// the armed OK into the end of the result set.
func (e *rawEnd) parse(p []byte) error {
	for len(p) > 0 {
		if e.hdrN < 4 {
			k := copy(e.hdr[e.hdrN:], p)
			e.hdrN += k
			p = p[k:]
			if e.hdrN < 4 {
				return nil
			}
			e.left = int(e.hdr[0]) | int(e.hdr[1])<<8 | int(e.hdr[2])<<16
			e.hdr[3] += e.renum
			if !e.armed {
				e.held = append(e.held, e.hdr[:]...)
			}
		} else {
			k := min(e.left, len(p))
			if e.armed {
				e.bodyN += copy(e.body[e.bodyN:], p[:k])
			} else {
				e.held = append(e.held, p[:k]...)
			}
			e.left -= k
			p = p[k:]
		}
		if e.left == 0 {
			e.hdrN = 0
			if e.armed {
				if err := e.turn(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// turn writes the end of the result set in place of vitess's OK (whole in
// hdr and body): 00, affected rows 0, insert id 0, status flags,
// warnings (the listener never sends session state).
func (e *rawEnd) turn() error {
	e.armed, e.hold = false, false
	size := int(e.hdr[0]) | int(e.hdr[1])<<8 | int(e.hdr[2])<<16
	if size != 7 || e.bodyN != 7 || e.body[0] != 0x00 || e.body[1] != 0 || e.body[2] != 0 {
		return errRawEnd
	}
	b := e.body[:7]
	b[5], b[6] = byte(e.warnings), byte(e.warnings>>8)
	if e.eof {
		// EOF: fe, warnings, status flags.
		e.held = append(e.held, 5, 0, 0, e.hdr[3], 0xfe, b[5], b[6], b[3], b[4])
	} else {
		e.held = append(e.held, 7, 0, 0, e.hdr[3], 0xfe, 0, 0, b[3], b[4], b[5], b[6])
	}
	return nil
}
