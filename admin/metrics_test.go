package admin

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/shardmap"
)

// countCollector serves one counter read from an atomic at scrape time, as
// the proxy's collectors do.
type countCollector struct {
	desc *prometheus.Desc
	n    *atomic.Uint64
}

func (c countCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c countCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.n.Load()), "ok")
}

func serveAdmin(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after Shutdown", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	return string(body)
}

func TestMetricsServesRegisteredCollectors(t *testing.T) {
	spec := shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{
			{KeyRange: "-80", Primary: shardmap.NodeSpec{Name: "pg0", Host: "127.0.0.1", Port: 5501}},
			{KeyRange: "80-", Primary: shardmap.NodeSpec{Name: "pg1", Host: "127.0.0.1", Port: 5502}},
		},
	}}}
	snap, err := shardmap.Compile(7, spec)
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(snap)
	s := NewServer(cur.Load)

	var n atomic.Uint64
	c := countCollector{
		desc: prometheus.NewDesc("shardgate_test_things_total", "Things counted by the test.", []string{"result"}, nil),
		n:    &n,
	}
	if err := s.Register(c); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(c); err == nil {
		t.Fatal("registering the same metrics twice succeeded")
	}
	url := serveAdmin(t, s)

	n.Store(41)
	body := scrape(t, url)
	for _, want := range []string{
		"# TYPE shardgate_test_things_total counter",
		"shardgate_test_things_total{result=\"ok\"} 41\n",
		"# TYPE shardgate_shardmap_version gauge",
		"shardgate_shardmap_version 7\n",
		"go_goroutines ",
		"process_start_time_seconds ", // absent where procfs is missing; Linux has it
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Values are read at scrape time: no registration or push on change.
	n.Add(1)
	if snap2, err := shardmap.Compile(8, spec); err != nil {
		t.Fatal(err)
	} else {
		cur.Store(snap2)
	}
	body = scrape(t, url)
	for _, want := range []string{"shardgate_test_things_total{result=\"ok\"} 42\n", "shardgate_shardmap_version 8\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("second scrape lacks %q", want)
		}
	}
}

func TestMetricsWithoutSnapshot(t *testing.T) {
	body := scrape(t, serveAdmin(t, NewServer(nil)))
	if strings.Contains(body, "shardgate_shardmap_version") {
		t.Error("shardmap version served without a snapshot source")
	}
	if !strings.Contains(body, "go_goroutines ") {
		t.Error("/metrics lacks the Go collector")
	}
}
