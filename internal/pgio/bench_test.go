package pgio

import (
	"io"
	"testing"
)

// loopReader replays data forever, in reads of at most chunk bytes, like
// a socket delivering a server's answers.
type loopReader struct {
	data  []byte
	off   int
	chunk int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(p) > l.chunk {
		p = p[:l.chunk]
	}
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

// pgbenchSelect is what a server answers to one extended-protocol
// "SELECT abalance FROM pgbench_accounts WHERE aid = $1" (pgbench -S -M
// extended): ParseComplete, BindComplete, RowDescription-less DataRow,
// CommandComplete, ReadyForQuery.
func pgbenchSelect() []byte {
	var b []byte
	b = AppendEmpty(b, TypeParseComplete)
	b = AppendEmpty(b, TypeBindComplete)
	b = appendHeader(b, TypeDataRow, 2+4+4)
	b = append(b, 0, 1, 0, 0, 0, 4, '1', '2', '3', '4')
	b = AppendCommandComplete(b, "SELECT 1")
	b = AppendReadyForQuery(b, TxIdle)
	return b
}

// BenchmarkRelay is the proxy's hot loop: read a message, write it on,
// flush when nothing more is waiting. One op is one message.
func BenchmarkRelay(b *testing.B) {
	for _, c := range []struct {
		name  string
		chunk int
	}{{"socket-4KiB", 4096}, {"one-response", len(pgbenchSelect())}} {
		b.Run(c.name, func(b *testing.B) {
			data := pgbenchSelect()
			r := NewReader(&loopReader{data: data, chunk: c.chunk}, ReaderOptions{})
			w := NewWriter(io.Discard, WriterOptions{})
			b.SetBytes(int64(len(data) / 5))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				typ, body, err := r.ReadMessage()
				if err != nil {
					b.Fatal(err)
				}
				if typ == TypeReadyForQuery {
					if _, err := DecodeReadyForQuery(body); err != nil {
						b.Fatal(err)
					}
				}
				w.WriteRaw(typ, body)
				if r.Buffered() == 0 {
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkRelayLargeRows relays 64 KiB DataRows: the body goes straight
// through, and the enlarged read buffer is kept for the next one.
func BenchmarkRelayLargeRows(b *testing.B) {
	body := make([]byte, 64<<10)
	data := appendHeader(nil, TypeDataRow, len(body))
	data = append(data, body...)
	r := NewReader(&loopReader{data: data, chunk: 16 << 10}, ReaderOptions{})
	w := NewWriter(io.Discard, WriterOptions{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		typ, body, err := r.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		w.WriteRaw(typ, body)
		w.Flush()
	}
}

func BenchmarkDecodeBind(b *testing.B) {
	msg := (&Bind{Statement: []byte("sg_42"), ParamFormats: Int16s(AppendInt16s(nil, 1)),
		Params: [][]byte{{0, 0, 0, 0, 0, 0, 0, 7}, []byte("hello"), nil}, ResultFormats: Int16s(AppendInt16s(nil, 1))}).Append(nil)[5:]
	var m Bind
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteHelpers(b *testing.B) {
	w := NewWriter(io.Discard, WriterOptions{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.WriteParseComplete()
		w.WriteBindComplete()
		w.WriteCommandComplete("SELECT 1")
		w.WriteReadyForQuery(TxIdle)
		w.Flush()
	}
}

// TestRelayDoesNotAllocate keeps the zero-allocation promise in the
// ordinary test run, not only in benchmarks.
func TestRelayDoesNotAllocate(t *testing.T) {
	data := pgbenchSelect()
	r := NewReader(&loopReader{data: data, chunk: 4096}, ReaderOptions{})
	w := NewWriter(io.Discard, WriterOptions{})
	var bind Bind
	bindMsg := (&Bind{Params: [][]byte{{1}, nil}}).Append(nil)[5:]
	allocs := testing.AllocsPerRun(1000, func() {
		for i := 0; i < 5; i++ {
			typ, body, err := r.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			w.WriteRaw(typ, body)
		}
		bind.Decode(bindMsg)
		w.WriteReadyForQuery(TxIdle)
		w.Flush()
	})
	if allocs != 0 {
		t.Fatalf("relay allocates %v times per round", allocs)
	}
}
