package mysql

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"

	vmysql "vitess.io/vitess/go/mysql"
)

// Prepared statements on the server (docs/design/mysql-raw-results.md):
// a client's COM_STMT_EXECUTE of a one-shard read runs as a COM_STMT_EXECUTE
// on the server too, and its binary result is forwarded as it comes. Each
// connection keeps the statements it prepared (text → server statement
// id) in a small CLOCK cache; an evicted one is closed with
// COM_STMT_CLOSE, which has no answer. COM_RESET_CONNECTION drops them all
// on the server: Reset empties the cache. The server's
// max_prepared_stmt_count is shared with its other clients:
// prepared_limit.go gives ours back when it is reached.
//
// vitess's client has no COM_STMT_PREPARE, and its Conn cannot start a
// command other than its own with the sequence number at 0: these commands
// are written and their answers read on the socket under it (as Reset
// does), which is safe between commands when vitess has nothing buffered
// (checked), through a reader of the Conn's own that must be empty again
// at the end of the answer.

// ErrNotPrepared says the server would not prepare the statement (or not
// with the expected parameters): run it as text. The refusal is
// remembered for the text on the connection.
var ErrNotPrepared = errors.New("mysql backend: statement not prepared on the server")

// ExecParams are a COM_STMT_EXECUTE's parameters as the client sent them.
type ExecParams struct {
	Count  int    // the statement's parameters
	Nulls  []byte // the NULL bitmap: (Count+7)/8 bytes
	Types  []byte // two bytes per parameter (type, flags: 0x80 unsigned)
	Values []byte // the values, in the binary protocol
}

const (
	comQuery       = 0x03
	comStmtPrepare = 0x16
	comStmtExecute = 0x17
	comStmtClose   = 0x19

	// maxPreparedText bounds the text of a statement kept prepared (the
	// cache holds it): a longer one runs as text.
	maxPreparedText = 16 << 10
)

type stmtEntry struct {
	id      uint32
	params  int
	refused bool
	used    bool   // CLOCK's reference bit
	gen     uint64 // the connection's settings generation it was prepared under
	slot    int
}

// stmtCache is a connection's prepared statements.
type stmtCache struct {
	m    map[string]*stmtEntry
	ring []string // CLOCK's slots: the cached texts
	hand int
	// gen changes with the connection's session settings (sql_mode, …
	// are read when a statement is prepared): an entry of an older
	// generation is prepared again.
	gen uint64
	// closing are server statement ids to close with the next command.
	closing []uint32
}

// clear forgets every statement (the server dropped them).
func (s *stmtCache) clear() {
	clear(s.m)
	s.ring = s.ring[:0]
	s.hand = 0
	s.closing = s.closing[:0]
}

// PreparedCount is the number of statements the connection keeps
// prepared on the server (refusals included).
func (c *Conn) PreparedCount() int { return len(c.stmts.m) }

// ForwardPrepared runs query (with ? placeholders) as a prepared
// statement on the server, prepared on this connection once, with the
// client's parameters p, and hands its binary result's packets to sink as
// Forward does (PacketRow is then a binary-protocol row). ErrNotPrepared:
// the server refused to prepare query (nothing ran; run it as text).
// Other errors are Forward's.
func (c *Conn) ForwardPrepared(query string, p ExecParams, sink PacketSink) (Summary, error) {
	if c.broken.Load() {
		return Summary{}, lostError(c.node, errors.New("connection marked broken"))
	}
	if len(query) > maxPreparedText {
		return Summary{}, ErrNotPrepared
	}
	c.giveBackIfAsked()
	if !c.gate.open() {
		// The node's max_prepared_stmt_count was reached lately: text,
		// without a prepare bound to fail.
		return Summary{}, ErrNotPrepared
	}
	if err := c.ownStart(); err != nil {
		return Summary{}, err
	}
	defer c.ownEnd()
	e, err := c.prepared(query)
	if err != nil {
		return Summary{}, err
	}
	if e.refused || e.params != p.Count {
		e.refused = true
		return Summary{}, ErrNotPrepared
	}
	n := 10
	if p.Count > 0 {
		n += len(p.Nulls) + 1 + len(p.Types) + len(p.Values)
	}
	if n >= vmysql.MaxPacketSize {
		return Summary{}, ErrNotPrepared
	}
	b := c.closePackets(c.wbuf[:0])
	b = append(b, byte(n), byte(n>>8), byte(n>>16), 0, comStmtExecute)
	b = binary.LittleEndian.AppendUint32(b, e.id)
	b = append(b, 0, 1, 0, 0, 0) // no cursor, one iteration
	if p.Count > 0 {
		b = append(b, p.Nulls...)
		b = append(b, 1)
		b = append(b, p.Types...)
		b = append(b, p.Values...)
	}
	if c.wbuf = b; cap(c.wbuf) > maxKeptBuffer {
		c.wbuf = nil
	}
	if err := c.ownWrite(b); err != nil {
		return Summary{}, err
	}
	return c.forwardResult(sink)
}

// prepared finds query's entry, preparing it on the server if needed.
func (c *Conn) prepared(query string) (*stmtEntry, error) {
	s := &c.stmts
	if e, ok := s.m[query]; ok {
		if e.gen == s.gen {
			e.used = true
			return e, nil
		}
		if !e.refused {
			s.closing = append(s.closing, e.id)
		}
		delete(s.m, query)
		s.ring[e.slot] = ""
	}
	// The COM_STMT_PREPARE, after the closes owed.
	b := c.closePackets(c.wbuf[:0])
	n := len(query) + 1
	if n >= vmysql.MaxPacketSize {
		return &stmtEntry{refused: true}, nil
	}
	b = append(b, byte(n), byte(n>>8), byte(n>>16), 0, comStmtPrepare)
	b = append(b, query...)
	if c.wbuf = b; cap(c.wbuf) > maxKeptBuffer {
		c.wbuf = nil
	}
	if err := c.ownWrite(b); err != nil {
		return nil, err
	}
	e := &stmtEntry{gen: s.gen, used: true}
	pk, err := c.readPacket()
	if err != nil {
		return nil, err
	}
	switch pk[4] {
	case 0xff:
		perr := vmysql.ParseErrorPacket(pk[4:])
		num, _, _, _ := ServerError(perr)
		if interrupted(num) {
			return nil, c.execError(perr) // a KILL QUERY meant for the statement
		}
		if num == erMaxPreparedStmtCount {
			// Not remembered either, but the node hears no prepare of
			// ours for a while, and gets this connection's back.
			c.refusedForLimit()
			return &stmtEntry{refused: true}, nil
		}
		if passing(num) {
			// Not remembered: the next execution prepares again (the text
			// runs now, and most likely fails alike).
			return &stmtEntry{refused: true}, nil
		}
		e.refused = true
	case 0x00:
		if len(pk) < 4+12 {
			return nil, c.protocolError("malformed PREPARE_OK")
		}
		q := pk[4:]
		e.id = binary.LittleEndian.Uint32(q[1:])
		cols := int(binary.LittleEndian.Uint16(q[5:]))
		e.params = int(binary.LittleEndian.Uint16(q[7:]))
		deprecateEOF := c.c.Capabilities&vmysql.CapabilityClientDeprecateEOF != 0
		for _, k := range []int{e.params, cols} {
			if k == 0 {
				continue
			}
			if !deprecateEOF {
				k++
			}
			for range k {
				if _, err := c.readPacket(); err != nil {
					return nil, err
				}
			}
		}
	default:
		return nil, c.protocolError(fmt.Sprintf("unexpected packet %#x after COM_STMT_PREPARE", pk[4]))
	}
	c.cacheEntry(query, e)
	return e, nil
}

// interrupted: the server's error says the statement was killed, not that
// it cannot be prepared.
func interrupted(num uint16) bool {
	return num == 1317 || num == 1927 || num == 1053
}

// passing: the server's error may not hold for long (a table or column
// not there yet, a privilege not granted yet, a lock): the refusal is not
// remembered. The server's limit of prepared statements (1461) is not
// remembered either (prepared_limit.go).
func passing(num uint16) bool {
	switch num {
	case 1049, 1054, 1142, 1143, 1146, 1205, 1213, 1305:
		return true
	}
	return false
}

// cacheEntry adds e under query, evicting with CLOCK when full.
func (c *Conn) cacheEntry(query string, e *stmtEntry) {
	s := &c.stmts
	if s.m == nil {
		s.m = make(map[string]*stmtEntry, 16)
	}
	if len(s.ring) < c.gate.size {
		e.slot = len(s.ring)
		s.ring = append(s.ring, query)
		s.m[query] = e
		return
	}
	for {
		slot := s.hand
		s.hand = (s.hand + 1) % len(s.ring)
		old, ok := s.m[s.ring[slot]]
		if ok && old.slot == slot && old.used {
			old.used = false
			continue
		}
		if ok && old.slot == slot {
			if !old.refused {
				s.closing = append(s.closing, old.id)
			}
			delete(s.m, s.ring[slot])
		}
		e.slot = slot
		s.ring[slot] = query
		s.m[query] = e
		return
	}
}

// closePackets appends the COM_STMT_CLOSEs owed (they have no answer).
func (c *Conn) closePackets(b []byte) []byte {
	for _, id := range c.stmts.closing {
		b = append(b, 5, 0, 0, 0, comStmtClose)
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	c.stmts.closing = c.stmts.closing[:0]
	return b
}

// settingsChanged: statements prepared from now on are read under other
// session settings.
func (c *Conn) settingsChanged() { c.stmts.gen++ }

// ownStart switches the connection's reads to its own reader, for a
// command vitess's client does not have.
func (c *Conn) ownStart() error {
	if c.c.Buffered() > 0 {
		c.MarkBroken()
		return lostError(c.node, errors.New("unread data before a prepared-statement command"))
	}
	nc := c.c.GetRawConn()
	if c.br == nil || c.brConn != nc {
		c.br, c.brConn = bufio.NewReaderSize(nc, 16<<10), nc
	}
	c.own = true
	return nil
}

// ownEnd goes back to vitess's reader: nothing may be left unread.
func (c *Conn) ownEnd() {
	c.own = false
	if c.br.Buffered() > 0 {
		c.MarkBroken()
	}
	if cap(c.rbuf) > maxKeptBuffer {
		c.rbuf = nil
	}
}

// ownWrite writes a command's packets (the last one numbered 0, a new
// command) on the socket.
func (c *Conn) ownWrite(b []byte) error {
	c.seq = 1
	if _, err := c.brConn.Write(b); err != nil {
		c.MarkBroken()
		return lostError(c.node, err)
	}
	// The server takes tens of µs to answer: reading at once finds
	// nothing (EAGAIN) and parks in the netpoller; letting the other
	// runnable sessions go first finds the answer there more often (as
	// frontend/pgwire's drain does).
	runtime.Gosched()
	return nil
}

// ownHeader reads a packet header from the connection's own reader.
func (c *Conn) ownHeader() (int, error) {
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		return 0, err
	}
	if c.hdr[3] != c.seq {
		return 0, fmt.Errorf("invalid sequence, expected %d got %d", c.seq, c.hdr[3])
	}
	c.seq++
	return int(c.hdr[0]) | int(c.hdr[1])<<8 | int(c.hdr[2])<<16, nil
}
