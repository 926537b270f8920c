package harness

import "iter"

// Turns yields targets in the order of round r of a benchmark: each round
// starts one target further on, wrapping around. With a fixed order a
// target always runs right after the same other one, whose after-effects
// (a warmer or colder Postgres, the kernel's socket caches) bias every
// round's pair the same way: in an A/A run of two identical builds the
// second ran 4–7% faster than the first in the median round, and over 42
// two-target rounds whichever ran first was 2–4% slower (bench/RESULTS.md,
// eleventh pass).
func Turns[T any](targets []T, r int) iter.Seq[T] {
	return func(yield func(T) bool) {
		for i := range targets {
			if !yield(targets[(i+r)%len(targets)]) {
				return
			}
		}
	}
}
