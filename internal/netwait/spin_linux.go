package netwait

import "time"

// maxSpinBackoff bounds the waits a Conn skips polling after its polls
// missed in a row (1, 2, 4, … of them).
const maxSpinBackoff = 64

// spinState is a Conn's part of its Spin. Only the Conn's reader touches
// it.
type spinState struct {
	spin    *Spin
	id      uint64 // a client Conn's id; 0 for a server Conn
	seen    uint64 // the Spin's switches at this Conn's last wait
	skip    uint32 // waits left that do not poll
	backoff uint32 // the skip after the next miss
	round   bool   // the wait after this poll is a round (Spin.noteRound)
}

// pollWait is runtime_pollWait for a Conn that may have polled: a wait
// that followed a poll notes the round through the scheduler, if it made
// one.
func (c *Conn) pollWait() int {
	if !c.sp.round {
		return runtime_pollWait(c.ctx, 'r')
	}
	c.sp.round = false
	start := time.Now()
	code := runtime_pollWait(c.ctx, 'r')
	if time.Since(start) >= minRound {
		c.sp.spin.noteRound()
	}
	return code
}

// SetSpin makes c poll before it waits, as s allows; client is true for
// a connection from a client (whose reads tell s how many clients are at
// work), false for one to a server. Call it before the first Read.
func (c *Conn) SetSpin(s *Spin, client bool) {
	if c == nil || s == nil {
		return
	}
	c.sp.spin = s
	if client {
		c.sp.id = s.ids.Add(1)
	}
}

// noteRead tells the Spin that a client Conn read something.
func (p *spinState) noteRead() {
	if p.id == 0 {
		return
	}
	if s := p.spin; s.last.Load() != p.id {
		s.last.Store(p.id)
		s.switches.Add(1)
	}
}

// shouldPoll says whether this wait polls first: no other client read
// since the last wait, and the backoff of earlier misses is over.
func (p *spinState) shouldPoll() bool {
	s := p.spin
	if s == nil {
		return false
	}
	sw := s.switches.Load()
	quiet := sw == p.seen
	p.seen = sw
	if !quiet {
		return false
	}
	if p.skip > 0 {
		p.skip--
		return false
	}
	return true
}

// polled records a poll's outcome: a miss doubles the waits the next
// misses skip; a hit starts over.
func (p *spinState) polled(hit bool) {
	if hit {
		p.spin.hits.Add(1)
		p.backoff = 0
		return
	}
	p.spin.misses.Add(1)
	p.backoff = min(max(1, 2*p.backoff), maxSpinBackoff)
	p.skip = p.backoff
}
