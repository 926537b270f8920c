package mysqlwire

import "testing"

// The packet sniffer reads whatever a client sends, cut anywhere.
func FuzzSniff(f *testing.F) {
	f.Add([]byte{4, 0, 0, 1, 0, 0, 0, 0, 11, 0, 0, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 3)
	f.Add([]byte{0, 0, 0, 0}, 1)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		c := &sniffConn{s: &Server{sessions: map[*session]struct{}{}}}
		if cut <= 0 || cut > len(b) {
			cut = len(b)
		}
		c.feed(b[:cut])
		c.feed(b[cut:])
	})
}

func FuzzPlaceholders(f *testing.F) {
	f.Add("SELECT ? FROM t WHERE a = '?' AND b = `?` -- ?\n AND c = ? /* ? */ # ?")
	f.Fuzz(func(t *testing.T, sql string) {
		at := placeholders(sql)
		for _, i := range at {
			if sql[i] != '?' {
				t.Fatalf("offset %d is %q", i, sql[i])
			}
		}
		hasUserVariable(sql)
	})
}
