package backend

import "time"

// maintain runs until the pool is closed: it closes idle connections that
// are dead, past their lifetime or idle too long, and dials to keep
// MinIdle idle connections.
func (p *Pool) maintain() {
	defer p.wg.Done()
	t := time.NewTicker(p.o.MaintenanceInterval)
	defer t.Stop()
	for {
		p.maintainOnce(time.Now())
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Pool) maintainOnce(now time.Time) {
	type victim struct {
		c      *Conn
		reason CloseReason
	}
	var victims []victim
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	// Oldest idle first, so that the idle timeout closes those and keeps
	// the most recently used ones.
	left := len(p.idle)
	kept := p.idle[:0]
	for _, c := range p.idle {
		var reason CloseReason
		switch {
		case c.expired(now):
			reason = CloseLifetime
		case !c.alive():
			reason = CloseDead
		case now.Sub(c.lastUsed) >= p.o.IdleTimeout && left > p.o.MinIdle:
			reason = CloseIdle
		default:
			kept = append(kept, c)
			continue
		}
		c.idle = false
		victims = append(victims, victim{c, reason})
		left--
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.total -= len(victims)
	p.grantSlotLocked()
	need := min(p.o.MinIdle-len(p.idle), p.o.MaxConns-p.total)
	if need < 0 || len(p.waiters) > 0 {
		need = 0
	}
	p.total += need
	p.dialing += need
	p.mu.Unlock()

	for _, v := range victims {
		p.closeConn(v.c, v.reason)
	}
	for i := 0; i < need; i++ {
		c, err := p.dialReserved(p.ctx)
		if err != nil {
			// Give back the slots not tried; the next round tries again.
			p.mu.Lock()
			p.total -= need - i - 1
			p.dialing -= need - i - 1
			p.grantSlotLocked()
			p.mu.Unlock()
			return
		}
		p.Release(c)
	}
}
