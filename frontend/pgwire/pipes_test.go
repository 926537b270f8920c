package pgwire

import (
	"testing"

	"github.com/shardgate/shardgate/internal/pgio"
)

// A Bind's batch may be shared only if the rest of it, through its Sync,
// was read already.
func TestRestIsExecuteSync(t *testing.T) {
	msg := func(typ byte, body string) []byte { return pgio.AppendMessage(nil, typ, []byte(body)) }
	cat := func(ms ...[]byte) []byte {
		var b []byte
		for _, m := range ms {
			b = append(b, m...)
		}
		return b
	}
	exec, sync := msg('E', "\x00\x00\x00\x00\x00"), msg('S', "")
	execX := msg('E', "x\x00\x00\x00\x00\x00")
	whole := cat(msg('D', "P\x00"), exec, sync)
	for _, c := range []struct {
		name   string
		b      []byte
		portal string
		want   bool
	}{
		{"execute, sync", cat(exec, sync), "", true},
		{"describe portal, execute, sync", whole, "", true},
		{"and the next batch", cat(exec, sync, msg('B', "x")), "", true},
		{"named portal", cat(msg('D', "Px\x00"), execX, sync), "x", true},
		{"another portal's execute", cat(exec, sync), "x", false},
		{"another portal's describe", cat(msg('D', "P\x00"), execX, sync), "x", false},
		{"sync cut short", cat(exec, sync)[:len(exec)+3], "", false},
		{"execute only", exec, "", false},
		{"nothing", nil, "", false},
		{"describe statement", cat(msg('D', "S\x00"), exec, sync), "", false},
		{"flush, not sync", cat(exec, msg('H', "")), "", false},
		{"two executes", cat(exec, exec, sync), "", false},
		{"bad length", []byte{'E', 0, 0, 0, 2, 'S', 0, 0, 0, 4}, "", false},
	} {
		if got := restIsExecuteSync(c.b, []byte(c.portal)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
