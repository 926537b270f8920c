package replicas

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// fakePicker has a replica within max lag (fits), and one that has
// replayed up to replayed; Wait answers after waited, or times out.
type fakePicker struct {
	fits     bool
	replayed Position
	waitOK   bool
	picks    int
}

func (f *fakePicker) Pick(_ *shardmap.Shard, _ time.Duration, minPos Position) (Lease, bool) {
	f.picks++
	if !f.fits || (!minPos.IsZero() && !f.replayed.Covers(minPos)) {
		return Lease{}, false
	}
	return Lease{n: &node{info: shardmap.Node{Name: "r1"}}}, true
}

func (f *fakePicker) Wait(ctx context.Context, _ *shardmap.Shard, _ time.Duration, _ Position) (Lease, error) {
	if f.waitOK {
		return Lease{n: &node{info: shardmap.Node{Name: "r1"}}}, nil
	}
	<-ctx.Done()
	return Lease{}, ctx.Err()
}

func TestChoose(t *testing.T) {
	sh := &shardmap.Shard{Name: "s0", Replicas: []shardmap.Node{{Name: "r1", Weight: 1}}}
	var wrote, unknown Commits
	wrote.Note("s0", LSN(100))
	unknown.Unknown("s0")
	for _, c := range []struct {
		name    string
		p       Policy
		picker  fakePicker
		commits *Commits
		want    Choice
		errCode string
	}{
		{"fits", Policy{}, fakePicker{fits: true}, &Commits{}, OnReplica, ""},
		{"lagging, fall back", Policy{WhenLagging: config.LagUsePrimary}, fakePicker{}, &Commits{}, PrimaryFallback, ""},
		{"lagging, error", Policy{WhenLagging: config.LagError}, fakePicker{}, &Commits{}, PrimaryFallback, sqlerr.ObjectNotInPrerequisiteState},
		{"lagging, preferred ignores error", Policy{WhenLagging: config.LagError, Preferred: true}, fakePicker{}, &Commits{}, PrimaryFallback, ""},
		{"lagging, wait answered", Policy{WhenLagging: config.LagWait, WaitTimeout: time.Second}, fakePicker{waitOK: true}, &Commits{}, OnReplica, ""},
		{"lagging, wait timed out", Policy{WhenLagging: config.LagWait, WaitTimeout: 10 * time.Millisecond}, fakePicker{}, &Commits{}, PrimaryFallback, sqlerr.ObjectNotInPrerequisiteState},
		{"own commit replayed", Policy{ReadYourWrites: true, WhenLagging: config.LagError}, fakePicker{fits: true, replayed: LSN(150)}, &wrote, OnReplica, ""},
		// Within max_lag but short of the session's commit: the primary,
		// never when_lagging's error.
		{"own commit not replayed", Policy{ReadYourWrites: true, WhenLagging: config.LagError}, fakePicker{fits: true, replayed: LSN(50)}, &wrote, PrimaryFallback, ""},
		{"own commit position unknown", Policy{ReadYourWrites: true}, fakePicker{fits: true}, &unknown, PrimaryUnknown, ""},
		{"read-your-writes off", Policy{}, fakePicker{fits: true, replayed: LSN(50)}, &unknown, OnReplica, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			lease, got, err := Choose(context.Background(), &c.picker, sh, c.p, c.commits)
			if got != c.want {
				t.Fatalf("choice %v, want %v", got, c.want)
			}
			var se *sqlerr.Error
			switch {
			case c.errCode == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.errCode != "" && (!errors.As(err, &se) || se.Code != c.errCode):
				t.Fatalf("error %v, want SQLSTATE %s", err, c.errCode)
			}
			if (got == OnReplica) != (lease.Node().Name == "r1") {
				t.Fatalf("lease %+v with choice %v", lease.Node(), got)
			}
		})
	}
}

// PrimaryWeight w against replicas of total weight R sends w/(w+R) of the
// reads to the primary without asking the picker.
func TestChoosePrimaryShare(t *testing.T) {
	sh := &shardmap.Shard{Name: "s0", Replicas: []shardmap.Node{{Name: "r1", Weight: 1}, {Name: "r2"}}}
	f := &fakePicker{fits: true}
	const n = 30000
	primary := 0
	for range n {
		_, c, err := Choose(context.Background(), f, sh, Policy{PrimaryWeight: 2}, &Commits{})
		if err != nil {
			t.Fatal(err)
		}
		if c == PrimaryShare {
			primary++
		}
	}
	if share := float64(primary) / n; share < 0.47 || share > 0.53 {
		t.Fatalf("primary share %.3f, want 0.5 (weight 2 against 1 + 1)", share)
	}
	if f.picks != n-primary {
		t.Fatalf("%d picks for %d replica reads", f.picks, n-primary)
	}
}
