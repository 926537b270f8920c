package replicas

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// fresh is a replica caught up at its last poll, at now.
func fresh(name string, weight int, pos uint64, now time.Duration) nodeView {
	return nodeView{
		node:  &node{info: shardmap.Node{Name: name, Weight: weight}},
		state: NodeUp, known: true, polledAt: now, replayed: Replayed{LSN(pos)},
	}
}

func seeded() func(uint64) uint64 {
	r := rand.New(rand.NewPCG(1, 2))
	return r.Uint64N
}

func TestPickFits(t *testing.T) {
	now := 10 * time.Second
	poll := 20 * ms
	maxLag := 500 * ms
	ok := fresh("ok", 1, 1000, now)
	open := fresh("open", 1, 1000, now)
	open.breaker = BreakerOpen
	halfOpen := fresh("half", 1, 1000, now)
	halfOpen.breaker = BreakerHalfOpen
	unknown := fresh("unknown", 1, 1000, now)
	unknown.known = false
	lagging := fresh("lagging", 1, 1000, now)
	lagging.behind, lagging.behindSince = true, now-501*ms
	atBound := fresh("at bound", 1, 1000, now)
	atBound.behind, atBound.behindSince = true, now-500*ms
	silent := fresh("silent", 1, 1000, now-600*ms) // not heard from for 600ms
	old := fresh("old", 1, 999, now)
	for _, tc := range []struct {
		name   string
		rs     []nodeView
		minPos Position
		want   int
	}{
		{"no replicas", nil, Position{}, -1},
		{"one fits", []nodeView{ok}, Position{}, 0},
		{"breaker open", []nodeView{open}, Position{}, -1},
		{"breaker half-open", []nodeView{halfOpen}, Position{}, -1},
		{"lag unknown", []nodeView{unknown}, Position{}, -1},
		{"lagging", []nodeView{lagging}, Position{}, -1},
		{"lag at the bound", []nodeView{atBound}, Position{}, 0},
		{"silent too long", []nodeView{silent}, Position{}, -1},
		{"position reached", []nodeView{ok}, LSN(1000), 0},
		{"position not reached", []nodeView{old}, LSN(1000), -1},
		{"only the last fits", []nodeView{open, lagging, unknown, old, ok}, LSN(1000), 4},
	} {
		if got := pick(tc.rs, now, maxLag, poll, tc.minPos, seeded()); got != tc.want {
			t.Errorf("%s: pick = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func share(t *testing.T, rs []nodeView, n int) []float64 {
	t.Helper()
	randN := seeded()
	counts := make([]int, len(rs))
	for range n {
		i := pick(rs, 0, time.Second, 20*ms, Position{}, randN)
		if i < 0 {
			t.Fatal("no pick")
		}
		counts[i]++
	}
	out := make([]float64, len(rs))
	for i, c := range counts {
		out[i] = float64(c) / float64(n)
	}
	return out
}

func TestPickSpreadsByWeight(t *testing.T) {
	even := share(t, []nodeView{fresh("a", 1, 1, 0), fresh("b", 1, 1, 0)}, 10000)
	if even[0] < 0.45 || even[0] > 0.55 {
		t.Errorf("equal weights: shares %.3f", even)
	}
	weighted := share(t, []nodeView{fresh("a", 1, 1, 0), fresh("b", 3, 1, 0)}, 10000)
	if weighted[1] < 0.70 || weighted[1] > 0.80 {
		t.Errorf("weights 1:3: shares %.3f, want about 0.25/0.75", weighted)
	}
	three := share(t, []nodeView{fresh("a", 1, 1, 0), fresh("b", 1, 1, 0), fresh("c", 2, 1, 0)}, 20000)
	if three[2] < 0.45 || three[2] > 0.55 {
		t.Errorf("weights 1:1:2: shares %.3f", three)
	}
}

func TestPickPrefersLessLoaded(t *testing.T) {
	a, b := fresh("a", 1, 1, 0), fresh("b", 1, 1, 0)
	a.node.outstanding.Store(5)
	b.node.outstanding.Store(4)
	rs := []nodeView{a, b}
	randN := seeded()
	for range 100 {
		if i := pick(rs, 0, time.Second, 20*ms, Position{}, randN); i != 1 {
			t.Fatal("picked the more loaded of two")
		}
	}
	// Per weight: 5 outstanding on weight 2 is less than 4 on weight 1.
	a.node.info.Weight = 2
	rs = []nodeView{a, b}
	for range 100 {
		if i := pick(rs, 0, time.Second, 20*ms, Position{}, randN); i != 0 {
			t.Fatal("load is not compared per weight")
		}
	}
}

// testMonitor is a Monitor whose one shard's group is built by hand, with
// a clock the test sets: no goroutine, no server.
func testMonitor(t testing.TB, rs ...nodeView) (*Monitor, *group, *shardmap.Shard, *time.Duration) {
	t.Helper()
	m, err := New(Options{Snapshot: func() *shardmap.Snapshot { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	var now time.Duration
	m.clock = func() time.Duration { return now }
	m.randN = seeded()
	sh := &shardmap.Shard{Name: "s0"}
	g := &group{m: m, key: "k", shard: "s0", primary: &node{}, done: make(chan struct{})}
	for i := range rs {
		g.replicas = append(g.replicas, rs[i].node)
	}
	g.view.Store(&shardView{primary: nodeView{node: g.primary}, replicas: rs, changed: make(chan struct{})})
	m.index.Store(&index{cur: map[*shardmap.Shard]*group{sh: g}, groups: map[string]*group{"k": g}})
	return m, g, sh, &now
}

func TestPickLeaseAccounting(t *testing.T) {
	m, _, sh, _ := testMonitor(t, fresh("a", 1, 1, 0))
	l, ok := m.Pick(sh, time.Second, Position{})
	if !ok || l.Node().Name != "a" {
		t.Fatalf("Pick = %v, %v", l, ok)
	}
	st, _ := m.Status(sh)
	if r := st.Replicas[0]; r.Outstanding != 1 || r.Served != 1 {
		t.Fatalf("after Pick: outstanding %d, served %d", r.Outstanding, r.Served)
	}
	l.Release()
	st, _ = m.Status(sh)
	if r := st.Replicas[0]; r.Outstanding != 0 || r.Served != 1 {
		t.Fatalf("after Release: outstanding %d, served %d", r.Outstanding, r.Served)
	}
	if _, ok := m.Pick(&shardmap.Shard{Name: "other"}, time.Second, Position{}); ok {
		t.Fatal("picked a replica of a shard not monitored")
	}
	if c := m.Counters(); c.Picks != 1 || c.NoFit != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	m, _, sh, _ := testMonitor(t, fresh("a", 1, 5, 0), fresh("b", 2, 5, 0), fresh("c", 1, 5, 0))
	allocs := testing.AllocsPerRun(1000, func() {
		l, ok := m.Pick(sh, time.Second, LSN(5))
		if !ok {
			t.Fatal("no pick")
		}
		l.Release()
	})
	if allocs != 0 {
		t.Fatalf("Pick allocates %v times", allocs)
	}
}

func TestWaitWakesOnPoll(t *testing.T) {
	behind := fresh("a", 1, 10, 0)
	m, g, sh, _ := testMonitor(t, behind)
	// Needs position 20: not there yet.
	if _, ok := m.Pick(sh, time.Second, LSN(20)); ok {
		t.Fatal("picked a replica short of the position")
	}
	got := make(chan error, 1)
	go func() {
		l, err := m.Wait(context.Background(), sh, time.Second, LSN(20))
		if err == nil {
			l.Release()
		}
		got <- err
	}()
	// A poll that changes nothing that matters does not end the wait.
	g.update(0, func(nv *nodeView) { nv.replayed = Replayed{LSN(15)} })
	select {
	case err := <-got:
		t.Fatalf("Wait returned early: %v", err)
	case <-time.After(20 * ms):
	}
	g.update(0, func(nv *nodeView) { nv.replayed = Replayed{LSN(20)} })
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Wait did not wake on the poll result")
	}
	if c := m.Counters(); c.Waits != 1 {
		t.Fatalf("waits %d", c.Waits)
	}
}

func TestWaitEnds(t *testing.T) {
	m, _, sh, _ := testMonitor(t, fresh("a", 1, 10, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*ms)
	defer cancel()
	if _, err := m.Wait(ctx, sh, time.Second, LSN(20)); err == nil || ctx.Err() == nil {
		t.Fatalf("Wait = %v before its context ended", err)
	}
	if _, err := m.Wait(context.Background(), &shardmap.Shard{}, time.Second, Position{}); err != ErrNoReplicas {
		t.Fatalf("Wait on an unmonitored shard = %v", err)
	}
	if c := m.Counters(); c.WaitsTimedOut != 1 {
		t.Fatalf("waits timed out %d", c.WaitsTimedOut)
	}
}

func BenchmarkPick(b *testing.B) {
	m, _, sh, _ := testMonitor(b, fresh("a", 1, 5, 0), fresh("b", 2, 5, 0), fresh("c", 1, 5, 0))
	m.randN = rand.Uint64N // the real one: goroutine-safe
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l, ok := m.Pick(sh, time.Second, LSN(5))
			if !ok {
				panic("no pick")
			}
			l.Release()
		}
	})
}
