package replicas

// Commits is what one client session knows of its last commit on each
// shard (by shard name, so it outlives a new map version), for
// read-your-writes: its later reads of a shard may go only to replicas
// whose replay covers that commit. Both front ends keep one per session.
// The zero value is ready to use; the session's goroutine owns it.
type Commits struct {
	m map[string]commitMark
}

type commitMark struct {
	pos Position
	// unknown: the session committed there but does not know where (a
	// two-phase commit whose position was not read): its reads of that
	// shard go to the primary until a later commit tells a position.
	unknown bool
}

// Note records a commit at pos on shard; the zero Position means the
// position is unknown.
func (c *Commits) Note(shard string, pos Position) {
	if pos.IsZero() {
		c.Unknown(shard)
		return
	}
	if c.m == nil {
		c.m = make(map[string]commitMark)
	}
	if m := c.m[shard]; m.unknown || !m.pos.Covers(pos) {
		c.m[shard] = commitMark{pos: pos}
	}
}

// Unknown records a commit on shard whose position is not known.
func (c *Commits) Unknown(shard string) {
	if c.m == nil {
		c.m = make(map[string]commitMark)
	}
	c.m[shard] = commitMark{unknown: true}
}

// MinPos is the position a replica must have replayed to serve the
// session's reads of shard (the zero Position: none); false when the last
// commit there is unknown, so only the primary will do.
func (c *Commits) MinPos(shard string) (Position, bool) {
	m := c.m[shard]
	return m.pos, !m.unknown
}

// Reset forgets every commit (the session is reset).
func (c *Commits) Reset() { c.m = nil }
