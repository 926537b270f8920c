package router

import (
	"fmt"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// ReadPolicy says where a read may run: the session's (config, then
// SET shardgate.read), overridden by a statement's hint.
type ReadPolicy uint8

const (
	// ReadPrimary: every statement runs on the primary (the default).
	ReadPrimary ReadPolicy = iota
	// ReadReplicas: reads run on a replica within the max lag; when none
	// is, the session's when_lagging policy decides.
	ReadReplicas
	// ReadReplicasPreferred: reads run on a replica within the max lag,
	// else on the primary.
	ReadReplicasPreferred
)

var readPolicyNames = [...]string{"primary", "replicas", "replicas_preferred"}

func (r ReadPolicy) String() string {
	if int(r) < len(readPolicyNames) {
		return readPolicyNames[r]
	}
	return "unknown"
}

// ParseReadPolicy parses a policy's name as config, SET and hints write it.
func ParseReadPolicy(s string) (ReadPolicy, bool) {
	for i, n := range readPolicyNames {
		if s == n {
			return ReadPolicy(i), true
		}
	}
	return 0, false
}

// Target says which node of a shard runs a statement. The zero Target is
// the primary: every write, and every read unless a replica policy says
// otherwise.
type Target struct {
	// Read is ReadPrimary, or the replica policy of a read that may run on
	// a replica.
	Read ReadPolicy
	// MaxLag is the most lag a replica may have to serve the read.
	MaxLag time.Duration
}

// Primary is the primary of the shard.
var Primary = Target{}

// OnReplica reports whether the statement may run on a replica.
func (t Target) OnReplica() bool { return t.Read != ReadPrimary }

func (t Target) String() string {
	if !t.OnReplica() {
		return "primary"
	}
	return fmt.Sprintf("%s(max_lag=%s)", t.Read, t.MaxLag)
}

// readTarget decides where a read of stmt may run, by the session's
// policy and the statement's hint. Writes, locking reads, reads calling
// volatile functions or holding writable CTEs, multi-statement texts, and
// everything inside a read-write transaction run on the primary; a
// READ ONLY transaction may run on a replica.
func readTarget(stmt *parser.Statement, sess *Session) (Target, error) {
	t := Target{Read: sess.Read, MaxLag: sess.MaxLag}
	if h := stmt.Hint; h.HasRead() {
		if h.Read != "" {
			r, ok := ParseReadPolicy(h.Read)
			if !ok {
				return Target{}, sqlerr.New(sqlerr.InvalidParameterValue, "hint read=%s: unknown read policy", h.Read).
					WithHint("Use primary, replicas or replicas_preferred.")
			}
			t.Read = r
		}
		if h.MaxLag != "" {
			d, err := ParseMaxLag(h.MaxLag)
			if err != nil {
				return Target{}, sqlerr.New(sqlerr.InvalidParameterValue, "hint max_lag=%s: %v", h.MaxLag, err)
			}
			t.MaxLag = d
		}
	}
	if t.Read == ReadPrimary || !ReplicaSafe(stmt) || (sess.InTx && !sess.TxReadOnly) {
		return Target{}, nil
	}
	return t, nil
}

// ParseMaxLag parses a max lag as config, SET and hints write it: a Go
// duration ("500ms", "2s") or a number of milliseconds; never negative.
func ParseMaxLag(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		var ms int64
		if _, err2 := fmt.Sscanf(s, "%d", &ms); err2 != nil || fmt.Sprint(ms) != s {
			return 0, fmt.Errorf("not a duration (write it as 500ms or 2s)")
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return d, nil
}

// ReplicaSafe reports whether stmt only reads, so a replica may run it.
func ReplicaSafe(stmt *parser.Statement) bool {
	return stmt.Kind == parser.KindSelect && len(stmt.Parts) == 0 && !stmt.Volatile && !stmt.Locking &&
		!stmt.WritableCTE && stmt.Pin == parser.PinNone
}

// withTarget returns p with target t (the plans that may read).
func withTarget(p Plan, t Target) Plan {
	switch q := p.(type) {
	case Single:
		if q.Target != t {
			q.Target = t
			return q
		}
	case *Single: // RouteOne's, which the caller keeps
		q.Target = t
	case AnyShard:
		if q.Target != t {
			q.Target = t
			return q
		}
	case Scatter:
		if q.Target != t {
			q.Target = t
			return q
		}
	}
	return p
}
