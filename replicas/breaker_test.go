package replicas

import (
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	noJitter := func(uint64) uint64 { return 0 }
	b := breaker{opts: BreakerOptions{Failures: 3, MinBackoff: 100 * ms, MaxBackoff: 350 * ms}}
	now := time.Duration(0)
	step := func(ok bool) (ejected, reinstated bool) {
		if !b.allow(now) {
			t.Fatalf("at %v: not allowed in state %v", now, b.state)
		}
		if ok {
			return false, b.success()
		}
		return b.failure(now, noJitter), false
	}
	// Two failures, a success: the count starts over.
	step(false)
	step(false)
	step(true)
	step(false)
	step(false)
	if b.state != BreakerClosed {
		t.Fatalf("ejected after 2 failures in a row")
	}
	if ej, _ := step(false); !ej || b.state != BreakerOpen {
		t.Fatalf("not ejected after 3 failures in a row: %v", b.state)
	}
	// Backoff doubles on each failed half-open probe, up to the max.
	for _, wait := range []time.Duration{100 * ms, 200 * ms, 350 * ms, 350 * ms} {
		if b.allow(now + wait - 1) {
			t.Fatalf("allowed before backoff %v", wait)
		}
		now += wait
		if !b.allow(now) || b.state != BreakerHalfOpen {
			t.Fatalf("not half-open after backoff %v", wait)
		}
		if ej := b.failure(now, noJitter); ej {
			t.Fatal("a failed retry counts as a new ejection")
		}
	}
	now += 350 * ms
	if _, re := step(true); !re || b.state != BreakerClosed {
		t.Fatalf("not reinstated by a successful half-open probe")
	}
	// After reinstatement, the backoff starts again from the minimum.
	step(false)
	step(false)
	step(false)
	if b.allow(now+99*ms) || !b.allow(now+100*ms) {
		t.Fatal("backoff did not restart at the minimum")
	}
}

func TestBreakerJitter(t *testing.T) {
	b := breaker{opts: BreakerOptions{Failures: 1, MinBackoff: 100 * ms, MaxBackoff: time.Second}}
	// The jitter takes up to half of the backoff off.
	b.failure(0, func(n uint64) uint64 {
		if n != uint64(50*ms) {
			t.Fatalf("jitter range %d, want half the backoff", n)
		}
		return n - 1
	})
	if b.retryAt != 50*ms+1 {
		t.Fatalf("retry at %v", b.retryAt)
	}
}
