package globalid

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Snowflake layout: 1 sign bit (always 0), 41 bits of milliseconds since
// Epoch, 10 bits of node id, 12 bits of sequence within the millisecond.
const (
	nodeBits     = 10
	sequenceBits = 12
	timeBits     = 41
	// MaxNode is the largest node id.
	MaxNode = 1<<nodeBits - 1
	maxSeq  = 1<<sequenceBits - 1
	maxTime = 1<<timeBits - 1
)

// Epoch is time zero of snowflake IDs (41 bits of milliseconds last
// until 2093). Changing it would make new IDs collide with old ones.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultMaxBackwards is how far back the clock may jump before Next fails
// instead of waiting for it to catch up.
const DefaultMaxBackwards = 5 * time.Second

// Clock is the time source of a Snowflake; tests inject one.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SnowflakeOptions configure a Snowflake.
type SnowflakeOptions struct {
	// Node is this proxy's node id, 0-MaxNode (config global_ids.node).
	Node int
	// Clock defaults to SystemClock.
	Clock Clock
	// MaxBackwards: a clock that went back further than this makes Next
	// fail rather than wait (default DefaultMaxBackwards).
	MaxBackwards time.Duration
}

// Snowflake makes time-ordered IDs without a round trip. Safe for
// concurrent use.
type Snowflake struct {
	node  int64
	clock Clock
	maxBk time.Duration

	mu     sync.Mutex
	lastMs int64 // milliseconds since Epoch of the last ID
	seq    int64 // sequence of the last ID within lastMs
}

// NewSnowflake checks opts and returns a Snowflake.
func NewSnowflake(opts SnowflakeOptions) (*Snowflake, error) {
	if opts.Node < 0 || opts.Node > MaxNode {
		return nil, fmt.Errorf("globalid: snowflake node id %d: want 0-%d", opts.Node, MaxNode)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.MaxBackwards <= 0 {
		opts.MaxBackwards = DefaultMaxBackwards
	}
	return &Snowflake{node: int64(opts.Node), clock: opts.Clock, maxBk: opts.MaxBackwards, lastMs: -1}, nil
}

// Next returns n IDs, each greater than every ID this Snowflake returned
// before. Past 4096 IDs in one millisecond it waits for the next; if the
// clock went backwards it waits until it is past the last ID's
// millisecond again (at most MaxBackwards, else an error).
func (s *Snowflake) Next(ctx context.Context, n int) ([]int64, error) {
	out := make([]int64, 0, n)
	for len(out) < n {
		wait, err := s.take(&out, n)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			if err := s.clock.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// take appends to out as many IDs as the current millisecond allows (up
// to n in all) and says how long to wait before the next.
func (s *Snowflake) take(out *[]int64, n int) (time.Duration, error) {
	now := s.clock.Now()
	if now.Before(Epoch) {
		return 0, fmt.Errorf("globalid: the clock (%s) is before the snowflake epoch (%s)", now.UTC().Format(time.RFC3339), Epoch.Format(time.RFC3339))
	}
	ms := now.Sub(Epoch).Milliseconds()
	if ms > maxTime {
		return 0, fmt.Errorf("globalid: snowflake time bits are exhausted (%s)", now.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ms < s.lastMs:
		back := time.Duration(s.lastMs-ms) * time.Millisecond
		if back > s.maxBk {
			return 0, fmt.Errorf("globalid: the clock went back %s, more than %s; refusing to make IDs until it catches up", back, s.maxBk)
		}
		return back, nil
	case ms > s.lastMs:
		s.lastMs, s.seq = ms, -1
	}
	for len(*out) < n && s.seq < maxSeq {
		s.seq++
		*out = append(*out, s.lastMs<<(nodeBits+sequenceBits)|s.node<<sequenceBits|s.seq)
	}
	if len(*out) < n {
		// This millisecond is used up: wait for the next one.
		next := Epoch.Add(time.Duration(s.lastMs+1) * time.Millisecond)
		return max(next.Sub(now), time.Microsecond), nil
	}
	return 0, nil
}

// SnowflakeParts splits an ID into its time, node and sequence.
func SnowflakeParts(id int64) (t time.Time, node int, seq int) {
	ms := id >> (nodeBits + sequenceBits)
	return Epoch.Add(time.Duration(ms) * time.Millisecond), int(id >> sequenceBits & MaxNode), int(id & maxSeq)
}
