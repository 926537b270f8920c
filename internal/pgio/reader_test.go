package pgio

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// stream frames msgs (type, body pairs) as they appear on the wire.
func stream(msgs ...any) []byte {
	var b []byte
	for i := 0; i < len(msgs); i += 2 {
		body := []byte(msgs[i+1].(string))
		b = appendHeader(b, msgs[i].(byte), len(body))
		b = append(b, body...)
	}
	return b
}

func readAll(t *testing.T, r *Reader) (types []byte, bodies []string) {
	t.Helper()
	for {
		typ, body, err := r.ReadMessage()
		if err == io.EOF {
			return types, bodies
		}
		if err != nil {
			t.Fatalf("ReadMessage: %v", err)
		}
		types = append(types, typ)
		bodies = append(bodies, string(body))
	}
}

func TestReaderSplitsMessagesWhateverTheChunking(t *testing.T) {
	big := string(bytes.Repeat([]byte("x"), 3*DefaultBufferSize))
	data := stream(byte('Q'), "SELECT 1\x00", byte('S'), "", byte('D'), big, byte('Z'), "I")
	for name, rd := range map[string]io.Reader{
		"whole":    bytes.NewReader(data),
		"one byte": iotest.OneByteReader(bytes.NewReader(data)),
		"half":     iotest.HalfReader(bytes.NewReader(data)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
	} {
		t.Run(name, func(t *testing.T) {
			types, bodies := readAll(t, NewReader(rd, ReaderOptions{}))
			if string(types) != "QSDZ" {
				t.Fatalf("types = %q", types)
			}
			if bodies[0] != "SELECT 1\x00" || bodies[1] != "" || bodies[2] != big || bodies[3] != "I" {
				t.Fatalf("bodies differ: %q", bodies[:2])
			}
		})
	}
}

func TestReaderBufferedShowsPipelinedMessages(t *testing.T) {
	data := stream(byte('P'), "a", byte('B'), "b", byte('S'), "")
	r := NewReader(bytes.NewReader(data), ReaderOptions{})
	if _, _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if got := r.Buffered(); got != 11 {
		t.Fatalf("Buffered = %d, want 11", got)
	}
	r.ReadMessage()
	r.ReadMessage()
	if r.Buffered() != 0 {
		t.Fatalf("Buffered = %d after the last message", r.Buffered())
	}
}

func TestReaderRefusesTooLargeAndMalformedLengths(t *testing.T) {
	r := NewReader(bytes.NewReader(stream(byte('Q'), "0123456789")), ReaderOptions{MaxMessageSize: 9})
	_, _, err := r.ReadMessage()
	var tooLarge *MessageTooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Size != 10 || tooLarge.Max != 9 || tooLarge.Type != 'Q' {
		t.Fatalf("err = %#v", err)
	}
	if e := tooLarge.SQLError(); e.Code != sqlerr.ProtocolViolation {
		t.Fatalf("SQLError code = %s", e.Code)
	}

	r = NewReader(bytes.NewReader([]byte{'Q', 0, 0, 0, 3}), ReaderOptions{})
	_, _, err = r.ReadMessage()
	if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.ProtocolViolation {
		t.Fatalf("length 3: err = %v", err)
	}
	r = NewReader(bytes.NewReader([]byte{'Q', 0x80, 0, 0, 0}), ReaderOptions{})
	if _, _, err = r.ReadMessage(); err == nil {
		t.Fatal("negative length accepted")
	}
}

func TestReaderEOF(t *testing.T) {
	data := stream(byte('Z'), "I")
	r := NewReader(bytes.NewReader(data[:len(data)-1]), ReaderOptions{})
	if _, _, err := r.ReadMessage(); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut message: err = %v", err)
	}
	r = NewReader(bytes.NewReader(data[:3]), ReaderOptions{})
	if _, _, err := r.ReadMessage(); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut header: err = %v", err)
	}
	r = NewReader(bytes.NewReader(nil), ReaderOptions{})
	if _, _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("empty: err = %v", err)
	}
}

func TestReaderShrinksAfterLargeMessages(t *testing.T) {
	big := string(bytes.Repeat([]byte("y"), 100_000))
	msgs := []any{byte('D'), big}
	for i := 0; i < shrinkAfter+5; i++ {
		msgs = append(msgs, byte('D'), "small")
	}
	r := NewReader(iotest.HalfReader(bytes.NewReader(stream(msgs...))), ReaderOptions{})
	r.ReadMessage()
	if len(r.buf) < 100_000 {
		t.Fatalf("buffer did not grow: %d", len(r.buf))
	}
	_, bodies := readAll(t, r)
	if len(bodies) != shrinkAfter+5 {
		t.Fatalf("got %d small messages", len(bodies))
	}
	if len(r.buf) != DefaultBufferSize {
		t.Fatalf("buffer is %d bytes after many small messages, want %d", len(r.buf), DefaultBufferSize)
	}
}

func TestReaderGrowthStopsAtMax(t *testing.T) {
	body := string(bytes.Repeat([]byte("z"), 20_000))
	r := NewReader(bytes.NewReader(stream(byte('D'), body)), ReaderOptions{MaxMessageSize: 20_000, BufferSize: 16_384})
	_, got, err := r.ReadMessage()
	if err != nil || len(got) != 20_000 {
		t.Fatalf("err = %v, len = %d", err, len(got))
	}
	if len(r.buf) != 20_005 {
		t.Fatalf("buffer grew to %d, want exactly header+max", len(r.buf))
	}
}

func TestReaderReleaseAndReset(t *testing.T) {
	pool := NewBufferPool(1024)
	data := stream(byte('Z'), "I", byte('Z'), "T")
	r := NewReader(bytes.NewReader(data), ReaderOptions{Pool: pool})
	r.ReadMessage()
	if r.Release() {
		t.Fatal("Release dropped a buffer that holds an unread message")
	}
	if _, body, _ := r.ReadMessage(); string(body) != "T" {
		t.Fatalf("body = %q", body)
	}
	if !r.Release() || r.buf != nil {
		t.Fatal("Release kept the buffer of an idle reader")
	}
	r.Reset(bytes.NewReader(data))
	types, _ := readAll(t, r)
	if string(types) != "ZZ" {
		t.Fatalf("after Reset: %q", types)
	}
	if len(r.buf) != 1024 {
		t.Fatalf("buffer from pool is %d bytes", len(r.buf))
	}
}

func TestReadStartup(t *testing.T) {
	pkt := AppendStartup(nil, "user", "app", "database", "db")
	pkt = append(pkt, stream(byte('Q'), "x\x00")...)
	r := NewReader(bytes.NewReader(pkt), ReaderOptions{})
	body, err := r.ReadStartup()
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := StartupCode(body); code != ProtocolVersion30 {
		t.Fatalf("code = %d", code)
	}
	var s Startup
	if err := s.Decode(body); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Get("database"); !ok || string(v) != "db" {
		t.Fatalf("database = %q %v", v, ok)
	}
	if typ, _, err := r.ReadMessage(); err != nil || typ != 'Q' {
		t.Fatalf("message after startup: %q %v", typ, err)
	}

	huge := []byte{0, 0, 0x27, 0x11} // 10001
	if _, err := NewReader(bytes.NewReader(huge), ReaderOptions{}).ReadStartup(); !errors.As(err, new(*MessageTooLargeError)) {
		t.Fatalf("huge startup: %v", err)
	}
	if _, err := NewReader(bytes.NewReader([]byte{0, 0, 0, 7, 0, 0, 0}), ReaderOptions{}).ReadStartup(); err == nil {
		t.Fatal("7-byte startup accepted")
	}
}

func TestSSLRequestAndCancelRequest(t *testing.T) {
	pkt := AppendSSLRequest(nil)
	pkt = AppendCancelRequest(pkt, 4242, []byte{1, 2, 3, 4})
	r := NewReader(bytes.NewReader(pkt), ReaderOptions{})
	body, _ := r.ReadStartup()
	if code, _ := StartupCode(body); code != SSLRequestCode {
		t.Fatalf("code = %d", code)
	}
	body, _ = r.ReadStartup()
	pid, key, err := DecodeCancelRequest(body)
	if err != nil || pid != 4242 || !bytes.Equal(key, []byte{1, 2, 3, 4}) {
		t.Fatalf("cancel = %d %v %v", pid, key, err)
	}
}

// waitingSource is a ReadWaiter handing out one chunk per Read, which
// records at each wait whether the Reader held a buffer then.
type waitingSource struct {
	chunks  [][]byte
	reader  *Reader
	waits   int
	heldBuf []bool
}

func (w *waitingSource) Read(p []byte) (int, error) {
	if len(w.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, w.chunks[0])
	if w.chunks[0] = w.chunks[0][n:]; len(w.chunks[0]) == 0 {
		w.chunks = w.chunks[1:]
	}
	return n, nil
}

func (w *waitingSource) WaitRead() error {
	w.waits++
	w.heldBuf = append(w.heldBuf, w.reader.buf != nil)
	return nil
}

// TestReaderWaitsBeforeTakingABuffer: a released Reader over a ReadWaiter
// waits before it takes a buffer from the pool (an idle session holds
// none while its client is silent); one that holds a buffer reads
// without waiting first.
func TestReaderWaitsBeforeTakingABuffer(t *testing.T) {
	pool := NewBufferPool(1024)
	src := &waitingSource{chunks: [][]byte{stream(byte('Q'), "a\x00"), stream(byte('Q'), "b\x00"), stream(byte('Q'), "c\x00")}}
	r := NewReader(src, ReaderOptions{Pool: pool})
	src.reader = r
	if _, body, err := r.ReadMessage(); err != nil || string(body) != "a\x00" {
		t.Fatalf("first message %q, %v", body, err)
	}
	if src.waits != 1 || src.heldBuf[0] {
		t.Fatalf("first read: %d waits, buffer held at the wait: %v", src.waits, src.heldBuf)
	}
	if _, body, _ := r.ReadMessage(); string(body) != "b\x00" || src.waits != 1 {
		t.Fatalf("second message %q after %d waits: a Reader holding its buffer waited", body, src.waits)
	}
	if !r.Release() || len(pool.free) != 1 {
		t.Fatalf("Release of an empty Reader failed, or the pool holds %d", len(pool.free))
	}
	if _, body, err := r.ReadMessage(); err != nil || string(body) != "c\x00" {
		t.Fatalf("third message %q, %v", body, err)
	}
	if src.waits != 2 || src.heldBuf[1] || len(pool.free) != 0 {
		t.Fatalf("after Release: %d waits, buffer held at the wait: %v, pool %d", src.waits, src.heldBuf, len(pool.free))
	}
}

// TestBufferPoolKeepsABoundedNumber: buffers returned beyond the pool's
// bound are left to the garbage collector; the most recently returned one
// is handed out first.
func TestBufferPoolKeepsABoundedNumber(t *testing.T) {
	pool := NewBufferPool(64)
	bufs := make([][]byte, DefaultPoolKeep+10)
	for i := range bufs {
		bufs[i] = pool.get()
	}
	for _, b := range bufs {
		pool.put(b)
	}
	if len(pool.free) != DefaultPoolKeep {
		t.Fatalf("pool keeps %d, want %d", len(pool.free), DefaultPoolKeep)
	}
	pool.put(make([]byte, 0, 65)) // another size: never pooled
	if len(pool.free) != DefaultPoolKeep {
		t.Fatalf("pool took a buffer of another size")
	}
	last := pool.get()
	if &last[:1][0] != &bufs[DefaultPoolKeep-1][:1][0] {
		t.Fatal("the pool did not hand out the most recently returned buffer first")
	}
}
