package replicas

import "testing"

func TestCommits(t *testing.T) {
	var c Commits
	if pos, ok := c.MinPos("-80"); !ok || !pos.IsZero() {
		t.Fatalf("no commit yet: %v %v", pos, ok)
	}
	c.Note("-80", LSN(100))
	c.Note("-80", LSN(50)) // an older position never lowers the bound
	if pos, ok := c.MinPos("-80"); !ok || pos != LSN(100) {
		t.Fatalf("after commits at 100 and 50: %v %v", pos, ok)
	}
	c.Unknown("-80")
	if _, ok := c.MinPos("-80"); ok {
		t.Fatal("unknown commit: a replica may serve")
	}
	c.Note("-80", LSN(40)) // a known position after an unknown one
	if pos, ok := c.MinPos("-80"); !ok || pos != LSN(40) {
		t.Fatalf("after unknown then 40: %v %v", pos, ok)
	}
	c.Note("80-", Position{})
	if _, ok := c.MinPos("80-"); ok {
		t.Fatal("a zero position must count as unknown")
	}
	c.Reset()
	if _, ok := c.MinPos("80-"); !ok {
		t.Fatal("after Reset")
	}
}
