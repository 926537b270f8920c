package pgwire

import (
	"runtime/debug"
	"sync"
	"time"
)

// idleBuffersPeriod is how often the sweeper looks at the sessions: a
// session that waits for its client through two looks in a row (idle for
// one to two periods) gives its I/O buffers back.
const idleBuffersPeriod = time.Second

// idleBuffers takes the I/O buffers of sessions that have waited for their
// client for a while, so that thousands of idle clients hold no buffer
// memory, while a busy session keeps its buffers and pays two atomic
// operations per wait for this (it used to give them back to the shared
// pool before every wait: four lock round trips on the pool's mutex per
// transaction).
//
// Each session holds its bufMu while it runs and lets go of it only
// while it waits for its client with nothing in flight (park); the
// sweeper takes the buffers of a session whose bufMu it can take and that
// it found parked the previous time too. The sweeps run on a timer that
// is armed while any session is registered: no goroutine of its own.
type idleBuffers struct {
	period time.Duration

	mu       sync.Mutex
	sessions map[*session]struct{}
	timer    *time.Timer
	armed    bool
	// taken counts the sessions whose buffers were taken since a sweep
	// last handed memory back, at freedOS (sweep).
	taken   int
	freedOS time.Time
}

func newIdleBuffers(period time.Duration) *idleBuffers {
	return &idleBuffers{period: period, sessions: make(map[*session]struct{})}
}

// add registers a running session (holding its bufMu).
func (b *idleBuffers) add(s *session) {
	b.mu.Lock()
	b.sessions[s] = struct{}{}
	if !b.armed {
		b.armed = true
		if b.timer == nil {
			b.timer = time.AfterFunc(b.period, b.sweep)
		} else {
			b.timer.Reset(b.period)
		}
	}
	b.mu.Unlock()
}

// remove forgets a session that ends.
func (b *idleBuffers) remove(s *session) {
	b.mu.Lock()
	delete(b.sessions, s)
	b.mu.Unlock()
}

// Once sweeps have taken the buffers of freeOSAfter sessions or more, the
// next sweep hands the memory back to the system at once, at most every
// freeOSEvery. Beyond the pool's few hundred, taken buffers are garbage
// that the runtime would return only after its next collection (which an
// idle proxy may not make for two minutes) and a slow scavenge; the limit
// bounds the cost (a collection) when sessions keep going idle and waking
// up.
const (
	freeOSAfter = 256
	freeOSEvery = 10 * time.Second
)

// sweep looks at every registered session once, then arms the next sweep
// unless none is left.
func (b *idleBuffers) sweep() {
	if b.sweepOnce() {
		debug.FreeOSMemory()
	}
}

// sweepOnce is one sweep; it reports whether to hand memory back.
func (b *idleBuffers) sweepOnce() (freeOS bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.sessions {
		if !s.bufMu.TryLock() {
			continue // running
		}
		if s.idleSweeps < 2 {
			s.idleSweeps++
			if s.idleSweeps == 2 && s.takeBuffers() {
				b.taken++
			}
		}
		s.bufMu.Unlock()
	}
	if b.taken >= freeOSAfter {
		if now := time.Now(); now.Sub(b.freedOS) >= freeOSEvery {
			b.freedOS, b.taken, freeOS = now, 0, true
		}
	}
	if len(b.sessions) == 0 {
		b.armed = false
		return freeOS
	}
	b.timer.Reset(b.period)
	return freeOS
}

// takeBuffers gives a parked session's buffers back to the pool (or, a
// buffer grown for large messages, to the garbage collector), and reports
// whether it held any; its next read takes one after the wait (the read
// buffer only when the wait is one without a buffer: a TLS client's
// blocked read holds its buffer).
func (s *session) takeBuffers() bool {
	took := s.out.Release()
	if s.waitsUnbuffered && s.in.Release() {
		took = true
	}
	if took {
		s.opts.Stats.IdleBufferTakes.Add(1)
	}
	return took
}

// park opens the session's buffers to the sweeper while it waits for its
// client with nothing in flight; unpark takes them back (they may be gone:
// the next read or write takes new ones from the pool).
func (s *session) park() {
	s.idleSweeps = 0
	s.bufMu.Unlock()
}

func (s *session) unpark() { s.bufMu.Lock() }

// readIn reads the client's next message; when idle, parked while it
// waits.
func (s *session) readIn(idle bool) (byte, []byte, error) {
	if !idle || s.in.Buffered() > 0 {
		return s.in.ReadMessage()
	}
	s.park()
	if !s.waitsUnbuffered {
		// The read waits holding the read buffer (TLS): only the write
		// buffer is the sweeper's meanwhile.
		typ, body, err := s.in.ReadMessage()
		s.unpark()
		return typ, body, err
	}
	err := s.in.Wait()
	s.unpark()
	if err != nil {
		return 0, nil, err
	}
	return s.in.ReadMessage()
}
