package globalid

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Several "proxies" (a Sequence each, on its own connection) and many
// goroutines per proxy take values at once, from a sequence that does not
// exist yet: no value is handed out twice, each call's values increase,
// and the row's next_value is past every value handed out.
func TestSequenceConcurrentAllocators(t *testing.T) {
	ctx := context.Background()
	admin := connect(t, 0)
	if err := EnsureSequenceTable(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := EnsureSequenceTable(ctx, admin); err != nil {
		t.Fatal("not idempotent: ", err)
	}
	name := fmt.Sprintf("race_%d", time.Now().UnixNano())
	const proxies, goroutines, calls = 4, 6, 60
	var mu sync.Mutex
	seen := map[int64]int{}
	var max int64
	var wg sync.WaitGroup
	for p := 0; p < proxies; p++ {
		seq, err := NewSequence(SequenceOptions{Name: name, Block: 37, DB: connect(t, 0)})
		if err != nil {
			t.Fatal(err)
		}
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < calls; i++ {
					n := 1 + rand.IntN(9)
					ids, err := seq.Next(ctx, n)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ids) != n {
						t.Errorf("%d ids, want %d", len(ids), n)
					}
					mu.Lock()
					for j, id := range ids {
						if j > 0 && id <= ids[j-1] {
							t.Errorf("ids not increasing: %v", ids)
						}
						if prev, dup := seen[id]; dup {
							t.Errorf("id %d handed out by proxy %d and %d", id, prev, p)
						}
						seen[id] = p
						if id > max {
							max = id
						}
					}
					mu.Unlock()
				}
			}()
		}
		defer seq.Close()
	}
	wg.Wait()
	var next int64
	if err := admin.QueryRow(ctx, "SELECT next_value FROM public.shardgate_sequences WHERE name = $1", name).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next <= max {
		t.Fatalf("next_value %d, but %d was handed out", next, max)
	}
	if len(seen) < proxies*goroutines*calls {
		t.Fatalf("only %d ids", len(seen))
	}
}

// countingDB counts block round trips.
type countingDB struct {
	Queryer
	takes atomic.Int32
}

func (c *countingDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.takes.Add(1)
	return c.Queryer.QueryRow(ctx, sql, args...)
}

// The next block is fetched once half of the current one is used, and the
// values that follow come from it without another round trip; a raised
// sequence starts above the given value.
func TestSequencePrefetchAndRaise(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, 0)
	if err := EnsureSequenceTable(ctx, conn); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("prefetch_%d", time.Now().UnixNano())
	if err := RaiseSequence(ctx, conn, name, 1000); err != nil {
		t.Fatal(err)
	}
	if err := RaiseSequence(ctx, conn, name, 10); err != nil { // never lowers
		t.Fatal(err)
	}
	db := &countingDB{Queryer: conn}
	seq, err := NewSequence(SequenceOptions{Name: name, Block: 10, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer seq.Close()
	ids, err := seq.Next(ctx, 6)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 1001 || ids[5] != 1006 {
		t.Fatalf("first ids %v, want from 1001", ids)
	}
	// 4 left of 10: the prefetch is in flight or done.
	waitFetched(t, seq)
	if n := db.takes.Load(); n != 2 {
		t.Fatalf("%d round trips, want 2 (first block and prefetch)", n)
	}
	ids, err = seq.Next(ctx, 6) // 4 from the first block, 2 from the prefetched one
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 1007 || ids[3] != 1010 || ids[4] != 1011 || ids[5] != 1012 {
		t.Fatalf("ids %v", ids)
	}
	if n := db.takes.Load(); n != 2 {
		t.Fatalf("%d round trips, want 2", n)
	}
}

func waitFetched(t *testing.T, s *Sequence) {
	t.Helper()
	s.mu.Lock()
	f := s.fetch
	s.mu.Unlock()
	if f == nil {
		t.Fatal("no prefetch started")
	}
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Fatal("prefetch did not finish")
	}
	if f.err != nil {
		t.Fatal(f.err)
	}
}
