package globalid

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock: Now is set by the test; Sleep advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	slept  []time.Duration
	onTick func(c *fakeClock) // called under mu after each Sleep
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func TestSnowflakeLayout(t *testing.T) {
	clk := &fakeClock{now: Epoch.Add(1500 * time.Millisecond)}
	s, err := NewSnowflake(SnowflakeOptions{Node: 37, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Next(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		ts, node, seq := SnowflakeParts(id)
		if !ts.Equal(Epoch.Add(1500*time.Millisecond)) || node != 37 || seq != i {
			t.Errorf("id %d = %x: %s node %d seq %d", i, id, ts, node, seq)
		}
	}
	if ids[0] != 1500<<22|37<<12 {
		t.Errorf("first id %d", ids[0])
	}
	for _, bad := range []int{-1, 1024} {
		if _, err := NewSnowflake(SnowflakeOptions{Node: bad}); err == nil {
			t.Errorf("node %d accepted", bad)
		}
	}
}

// 4096 IDs fill a millisecond; the next waits for the clock to move.
func TestSnowflakeSequenceOverflowWaits(t *testing.T) {
	clk := &fakeClock{now: Epoch.Add(time.Hour)}
	s, _ := NewSnowflake(SnowflakeOptions{Node: 1, Clock: clk})
	ids, err := s.Next(context.Background(), 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(clk.slept) != 1 || clk.slept[0] > time.Millisecond {
		t.Fatalf("slept %v", clk.slept)
	}
	checkIncreasing(t, ids)
	if _, _, seq := SnowflakeParts(ids[4096]); seq != 0 {
		t.Errorf("id 4096 has seq %d", seq)
	}
}

// A clock that goes back a little: Next waits until it is past the last
// ID's millisecond; IDs keep increasing. Too far back: an error.
func TestSnowflakeClockBackwards(t *testing.T) {
	clk := &fakeClock{now: Epoch.Add(10 * time.Second)}
	s, _ := NewSnowflake(SnowflakeOptions{Node: 2, Clock: clk, MaxBackwards: time.Second})
	ctx := context.Background()
	first, _ := s.Next(ctx, 1)
	clk.set(Epoch.Add(10*time.Second - 300*time.Millisecond))
	more, err := s.Next(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(clk.slept) == 0 || clk.slept[0] != 300*time.Millisecond {
		t.Errorf("slept %v, want 300ms first", clk.slept)
	}
	checkIncreasing(t, append(first, more...))
	clk.set(Epoch.Add(5 * time.Second))
	if _, err := s.Next(ctx, 1); err == nil {
		t.Fatal("a clock 5s back was waited for")
	}
	clk.set(Epoch.Add(-time.Second))
	if _, err := s.Next(ctx, 1); err == nil {
		t.Fatal("a clock before the epoch made IDs")
	}
	// A cancelled ctx ends the wait.
	clk.set(Epoch.Add(10*time.Second - 100*time.Millisecond))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Next(cctx, 1); err == nil {
		t.Fatal("cancelled wait returned IDs")
	}
}

// Many goroutines: no duplicates, each caller's IDs increase.
func TestSnowflakeConcurrent(t *testing.T) {
	s, _ := NewSnowflake(SnowflakeOptions{Node: 3})
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				ids, err := s.Next(context.Background(), 7)
				if err != nil {
					t.Error(err)
					return
				}
				checkIncreasing(t, ids)
				mu.Lock()
				for _, id := range ids {
					if seen[id] {
						t.Errorf("duplicate %d", id)
					}
					seen[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func checkIncreasing(t *testing.T, ids []int64) {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("id %d (%d) not above id %d (%d)", i, ids[i], i-1, ids[i-1])
		}
	}
}
