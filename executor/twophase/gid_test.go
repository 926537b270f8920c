package twophase

import "testing"

func TestGIDRoundTrip(t *testing.T) {
	for _, id := range []ID{{"p1.a1b2", 1}, {"host-9.x_y.00ff", 1<<64 - 1}, {"a", 0}} {
		for _, part := range []int{0, 3, 17} {
			got, p, ok := ParsePart(id.Part(part))
			if !ok || got != id || p != part {
				t.Fatalf("ParsePart(%q) = %v %d %v", id.Part(part), got, p, ok)
			}
		}
	}
	for _, bad := range []string{"", "sg:", "sg:x", "sg:x:1", "sg::1:2", "sg:x:y:1", "sg:x:1:-1", "xx:a:1:2", "sg:a:1:z"} {
		if _, _, ok := ParsePart(bad); ok {
			t.Fatalf("ParsePart(%q) accepted", bad)
		}
	}
}
