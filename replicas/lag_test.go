package replicas

import (
	"testing"
	"time"
)

const ms = time.Millisecond

func TestBeatsBehind(t *testing.T) {
	b := newBeats(4)
	if _, _, known := b.behind(0); known {
		t.Fatal("lag known before any heartbeat")
	}
	// Heartbeats 10..12 sent at 100, 300, 500 ms.
	b.record(10, 100*ms)
	b.record(11, 300*ms)
	b.record(12, 500*ms)
	for _, tc := range []struct {
		replayed   uint64
		wantBehind bool
		wantSince  time.Duration
	}{
		{12, false, 0}, // newest replayed: caught up
		{13, false, 0}, // replayed one we had not recorded yet (ack in flight)
		{11, true, 500 * ms},
		{10, true, 300 * ms},
		{9, true, 100 * ms}, // an older seq from before this proxy started
		{0, true, 100 * ms}, // no heartbeat of ours replayed at all
	} {
		since, behind, known := b.behind(tc.replayed)
		if !known || behind != tc.wantBehind || since != tc.wantSince {
			t.Errorf("behind(%d) = %v, %v, %v; want %v, %v", tc.replayed, since, behind, known, tc.wantSince, tc.wantBehind)
		}
	}
	// The ring drops its oldest entries; the oldest kept stands in.
	b.record(13, 700*ms)
	b.record(14, 900*ms)
	if since, behind, _ := b.behind(5); !behind || since != 300*ms {
		t.Errorf("after wrap: behind(5) = %v, %v; want 300ms", since, behind)
	}
	if since, _, _ := b.behind(13); since != 900*ms {
		t.Errorf("after wrap: behind(13) since %v, want 900ms", since)
	}
	// A sequence number that goes back restarts the history.
	b.record(3, 1000*ms)
	if _, behind, _ := b.behind(3); behind {
		t.Error("after restart: 3 is the newest")
	}
	if since, behind, _ := b.behind(14); behind {
		t.Errorf("after restart: 14 >= newest 3, got behind since %v", since)
	}
	if since, behind, _ := b.behind(2); !behind || since != 1000*ms {
		t.Errorf("after restart: behind(2) = %v, %v", since, behind)
	}
}

func TestLagAt(t *testing.T) {
	poll := 20 * ms
	for _, tc := range []struct {
		name                 string
		now, polledAt, since time.Duration
		behind               bool
		want                 time.Duration
	}{
		{"caught up, just polled", 1000 * ms, 995 * ms, 0, false, 0},
		{"caught up, one interval ago", 1000 * ms, 980 * ms, 0, false, 0},
		{"caught up, silent 300ms", 1000 * ms, 700 * ms, 0, false, 280 * ms},
		{"behind since 400ms", 1000 * ms, 995 * ms, 400 * ms, true, 600 * ms},
		{"behind, silent: grows anyway", 2000 * ms, 995 * ms, 400 * ms, true, 1600 * ms},
		{"clock never goes negative", 100 * ms, 120 * ms, 150 * ms, true, 0},
	} {
		if got := lagAt(tc.now, tc.polledAt, tc.since, tc.behind, poll); got != tc.want {
			t.Errorf("%s: lag %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The lag of a replica paused at some moment, with heartbeats every
// 200ms: 0 while it keeps up, then the age of the first heartbeat it
// missed, whatever the replica's own clock says.
func TestLagOfPausedReplica(t *testing.T) {
	b := newBeats(64)
	interval, poll := 200*ms, 20*ms
	var replayed uint64
	pausedAt := 1000 * ms
	for now := time.Duration(0); now <= 3000*ms; now += 10 * ms {
		if now%interval == 0 {
			seq := uint64(now/interval) + 1
			b.record(seq, now)
			if now < pausedAt {
				replayed = seq // replays at once
			}
		}
		since, behind, _ := b.behind(replayed)
		lag := lagAt(now, now, since, behind, poll)
		switch {
		case now < pausedAt:
			if lag != 0 {
				t.Fatalf("at %v: lag %v before the first missed heartbeat", now, lag)
			}
		default: // the heartbeat written at pausedAt is the first missed
			if want := now - pausedAt; lag != want {
				t.Fatalf("at %v: lag %v, want %v", now, lag, want)
			}
		}
	}
}
