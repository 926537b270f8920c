package mysqlwire

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func testSniff() (*sniffConn, *bytes.Buffer) {
	var out bytes.Buffer
	return &sniffConn{r: bufio.NewReader(strings.NewReader("")), w: &out}, &out
}

func packet(seq byte, payload ...byte) []byte {
	n := len(payload)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload...)
}

// vitess's OK for an empty Result: affected rows 0, insert id 0, status
// flags, warnings 0.
func vitessOK(seq byte, flags uint16) []byte {
	return packet(seq, 0, 0, 0, byte(flags), byte(flags>>8), 0, 0)
}

// writeSplit writes b as vitess's buffer might: in two writes cut at at.
func writeSplit(t *testing.T, c *sniffConn, b []byte, at int) {
	t.Helper()
	for _, part := range [][]byte{b[:at], b[at:]} {
		if n, err := c.Write(part); err != nil || n != len(part) {
			t.Fatalf("write: %d %v", n, err)
		}
	}
}

// A direct result: the proxy numbers its packets after the command's;
// vitess's OK, cut anywhere between writes, becomes the end (an EOF for
// a client without CLIENT_DEPRECATE_EOF) numbered after them, and what
// vitess writes next in the command is renumbered too.
func TestRawEndDirect(t *testing.T) {
	const flags = 0x0002 | 0x0008 // autocommit, more results
	tail := packet(2, 0xfb)       // vitess's next packet (an ERR, say)
	vitess := append(vitessOK(1, flags), tail...)
	for _, eof := range []bool{true, false} {
		for at := 0; at <= len(vitess); at++ {
			c, out := testSniff()
			c.rawCommand(0)
			if !c.rawDirect() {
				t.Fatal("not direct on a fresh command")
			}
			for _, p := range []string{"a", "bb", "ccc"} {
				if err := c.rawPacket(append([]byte{0, 0, 0, 0}, p...)); err != nil {
					t.Fatal(err)
				}
			}
			c.rawDirectDone()
			c.armEnd(eof, 3)
			if out.Len() != 0 {
				t.Fatalf("written before vitess's OK: %x", out.Bytes())
			}
			writeSplit(t, c, vitess, at)
			want := append(append(packet(1, 'a'), packet(2, 'b', 'b')...), packet(3, 'c', 'c', 'c')...)
			if eof {
				want = append(want, packet(4, 0xfe, 3, 0, byte(flags), 0)...)
			} else {
				want = append(want, packet(4, 0xfe, 0, 0, byte(flags), 0, 3, 0)...)
			}
			want = append(want, packet(5, 0xfb)...)
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("eof %v, cut at %d:\n got %x\nwant %x", eof, at, out.Bytes(), want)
			}
			// The next command: vitess's numbers are the client's again.
			c.rawCommand(0)
			out.Reset()
			if _, err := c.Write(packet(1, 0)); err != nil || !bytes.Equal(out.Bytes(), packet(1, 0)) {
				t.Fatalf("after the command: %x %v", out.Bytes(), err)
			}
		}
	}
}

// Through vitess (it answered part of the command already): its buffered
// packets are held, its OK after them turned, one write in all.
func TestRawEndThroughVitess(t *testing.T) {
	c, out := testSniff()
	c.rawCommand(0)
	if _, err := c.Write(packet(1, 0, 0, 0, 2, 0, 0, 0)); err != nil { // an earlier statement's OK
		t.Fatal(err)
	}
	if c.rawDirect() {
		t.Fatal("direct after vitess wrote")
	}
	out.Reset()
	c.holdWrites()
	rows := append(packet(2, 1), packet(3, 1, 'x')...)
	writeSplit(t, c, rows, 5) // vitess's flush: the result's packets
	c.armEnd(false, 0)
	if out.Len() != 0 {
		t.Fatalf("written before vitess's OK: %x", out.Bytes())
	}
	if _, err := c.Write(vitessOK(4, 2)); err != nil {
		t.Fatal(err)
	}
	want := append(rows, packet(4, 0xfe, 0, 0, 2, 0, 0, 0)...)
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("got %x\nwant %x", out.Bytes(), want)
	}
}

// A packet of 16 MiB or more goes out in frames, with an empty one after
// an exact multiple.
func TestRawPacketFrames(t *testing.T) {
	for _, size := range []int{maxFrame - 1, maxFrame, maxFrame + 3} {
		c, out := testSniff()
		c.rawCommand(0)
		c.rawDirect()
		if err := c.rawPacket(append([]byte{0, 0, 0, 0, 'a'}, make([]byte, 10)...)); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 4+size)
		for i := range p[4:] {
			p[4+i] = byte(i % 251)
		}
		want := bytes.Clone(p[4:])
		if err := c.rawPacket(p); err != nil {
			t.Fatal(err)
		}
		c.rawDirectDone()
		b := out.Bytes()
		if !bytes.Equal(b[:4], []byte{11, 0, 0, 1}) {
			t.Fatalf("first packet header %x", b[:4])
		}
		b = b[15:]
		var got []byte
		seq := byte(2)
		for {
			n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
			if b[3] != seq {
				t.Fatalf("size %d: frame number %d, want %d", size, b[3], seq)
			}
			seq++
			got = append(got, b[4:4+n]...)
			b = b[4+n:]
			if n < maxFrame {
				break
			}
		}
		if len(b) != 0 || !bytes.Equal(got, want) || c.end.count != 0 || c.end.renum != seq-1 {
			t.Fatalf("size %d: %d bytes left, payload equal %v, renum %d", size, len(b), bytes.Equal(got, want), c.end.renum)
		}
	}
}
