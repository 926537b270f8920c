package pgwire

import "github.com/shardgate/shardgate/shardmap"

// followSnapshot moves what the session holds onto a new map version. A
// shard is a pointer into its version and compared as one; a transaction
// that saw a new version (a failover of another shard, a resharding, any
// map edit) would otherwise take its own shard for another one, and join a
// second connection to the same server for its next statement: one that
// does not see the transaction's writes and waits on its locks. A held
// shard that is the same in the new version (shardmap.SameShard: name,
// range, database and primary) is replaced by the new version's; one that
// changed keeps the old pointer, and what routes to its successor is
// another shard as far as the transaction is concerned.
func (s *session) followSnapshot(snap *shardmap.Snapshot) {
	if s.snap == snap {
		return
	}
	prev := s.snap
	s.snap = snap
	if prev == nil {
		return // the first statement: nothing held yet
	}
	follow := func(l *link) {
		if l == nil {
			return
		}
		if sh, ok := snap.SameShard(shardmap.Postgres, s.rs.Keyspace, l.shard); ok && sh != l.shard {
			if s.sessLinks[l.shard] == l {
				delete(s.sessLinks, l.shard)
				s.sessLinks[sh] = l
			}
			l.shard = sh
		}
	}
	follow(s.txLink)
	follow(s.batch)
	for _, l := range s.txParts {
		follow(l)
	}
	kept := make([]*link, 0, len(s.sessLinks))
	for _, l := range s.sessLinks {
		kept = append(kept, l)
	}
	for _, l := range kept {
		follow(l)
	}
	for name, sh := range s.rs.Temp {
		if n, ok := snap.SameShard(shardmap.Postgres, s.rs.Keyspace, sh); ok {
			s.rs.Temp[name] = n
		}
	}
}
