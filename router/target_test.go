package router

import (
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

func TestReadTarget(t *testing.T) {
	snap := testSnapshot(t)
	point := func(mod func(*parser.Statement)) *parser.Statement {
		st := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
			Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0)}}}}
		if mod != nil {
			mod(st)
		}
		return st
	}
	replicas := Target{Read: ReadReplicas, MaxLag: time.Second}
	cases := []struct {
		name string
		stmt *parser.Statement
		sess func(*Session)
		want Target
		code string
	}{
		{"primary session", point(nil), func(s *Session) { s.Read = ReadPrimary }, Primary, ""},
		{"replicas session", point(nil), nil, replicas, ""},
		{"for update", point(func(s *parser.Statement) { s.Locking = true }), nil, Primary, ""},
		{"volatile", point(func(s *parser.Statement) { s.Volatile = true }), nil, Primary, ""},
		{"writable cte", point(func(s *parser.Statement) { s.WritableCTE = true }), nil, Primary, ""},
		{"update", point(func(s *parser.Statement) { s.Kind = parser.KindUpdate }), nil, Primary, ""},
		{"read-write tx", point(nil), func(s *Session) { s.InTx = true }, Primary, ""},
		{"read-only tx", point(nil), func(s *Session) { s.InTx, s.TxReadOnly = true, true }, replicas, ""},
		{"hint primary", point(func(s *parser.Statement) { s.Hint.Read = "primary" }), nil, Primary, ""},
		{"hint replicas in primary session", point(func(s *parser.Statement) { s.Hint.Read = "replicas_preferred" }),
			func(s *Session) { s.Read = ReadPrimary }, Target{Read: ReadReplicasPreferred, MaxLag: time.Second}, ""},
		{"hint max_lag", point(func(s *parser.Statement) { s.Hint.MaxLag = "250ms" }), nil, Target{Read: ReadReplicas, MaxLag: 250 * time.Millisecond}, ""},
		{"hint max_lag ms", point(func(s *parser.Statement) { s.Hint.MaxLag = "40" }), nil, Target{Read: ReadReplicas, MaxLag: 40 * time.Millisecond}, ""},
		{"hint bad policy", point(func(s *parser.Statement) { s.Hint.Read = "fastest" }), nil, Target{}, sqlerr.InvalidParameterValue},
		{"hint negative lag", point(func(s *parser.Statement) { s.Hint.MaxLag = "-1s" }), nil, Target{}, sqlerr.InvalidParameterValue},
		{"hint bad lag in primary session", point(func(s *parser.Statement) { s.Hint.MaxLag = "soon" }),
			func(s *Session) { s.Read = ReadPrimary }, Target{}, sqlerr.InvalidParameterValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sess()
			s.Read, s.MaxLag = ReadReplicas, time.Second
			if c.sess != nil {
				c.sess(s)
			}
			p, err := Route(c.stmt, &Values{Literals: ints("42")}, s, snap)
			if c.code != "" {
				wantCode(t, err, c.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got Target
			switch q := p.(type) {
			case Single:
				got = q.Target
			default:
				t.Fatalf("plan %s, want Single", p)
			}
			if got != c.want {
				t.Fatalf("target %s, want %s", got, c.want)
			}
		})
	}
}

func TestReadTargetScatterAndAnyShard(t *testing.T) {
	snap := testSnapshot(t)
	s := sess()
	s.Read, s.MaxLag = ReadReplicasPreferred, 2*time.Second
	p, err := Route(&parser.Statement{Kind: parser.KindSelect}, &Values{}, s, snap)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := p.(AnyShard); !ok || !a.Target.OnReplica() {
		t.Fatalf("no-table read: %s, want AnyShard on a replica", p)
	}
}
