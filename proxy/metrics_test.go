package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// runProxy serves the shared cluster through Run, with the admin endpoint
// on, as `shardgate serve` does; it stops when the test ends.
func runProxy(t *testing.T) Addrs {
	t.Helper()
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners.Admin = &config.AdminListener{Address: "127.0.0.1:0"}
	cfg.Store.Path = filepath.Join(t.TempDir(), "store")
	records, err := filestore.Open(cfg.Store.Path, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{
			Config: cfg, Store: shardmap.NewStore(records), DrainTimeout: 5 * time.Second,
			OnReady: func(a Addrs) { ready <- a },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	select {
	case a := <-ready:
		return a
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the proxy did not get ready")
	}
	return Addrs{}
}

// samples is one scrape: its sample lines as name, labels and value.
type samples []sample

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func scrapeMetrics(t *testing.T, adminAddr string) samples {
	t.Helper()
	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	var out samples
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sm, err := parseSample(line)
		if err != nil {
			t.Fatalf("bad sample line %q: %v", line, err)
		}
		out = append(out, sm)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// parseSample reads `name{k="v",…} value` (label values here hold no
// quotes, commas or escapes).
func parseSample(line string) (sample, error) {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return sample{}, errors.New("no value")
	}
	v, err := strconv.ParseFloat(line[i+1:], 64)
	if err != nil {
		return sample{}, err
	}
	sm := sample{name: line[:i], labels: map[string]string{}, value: v}
	if name, rest, ok := strings.Cut(sm.name, "{"); ok {
		sm.name = name
		for _, pair := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				return sample{}, fmt.Errorf("bad label %q", pair)
			}
			sm.labels[k] = strings.Trim(v, `"`)
		}
	}
	return sm, nil
}

// find returns the value of the one sample of name whose labels include
// labels (given as key, value, key, value…).
func (s samples) find(name string, labels ...string) (float64, error) {
	var found []float64
next:
	for _, sm := range s {
		if sm.name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if sm.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		found = append(found, sm.value)
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("/metrics has %d samples %s%v, want 1", len(found), name, labels)
	}
	return found[0], nil
}

func (s samples) get(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, err := s.find(name, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const lookups = "shardgate_analyzer_lookups_total"

func TestMetricsCountQueries(t *testing.T) {
	addrs := runProxy(t)
	url := fmt.Sprintf("postgres://app:app@%s/app?sslmode=disable", addrs.Postgres)
	ctx := context.Background()
	conns := map[string]*pgx.Conn{}
	for name, mode := range map[string]pgx.QueryExecMode{
		"simple": pgx.QueryExecModeSimpleProtocol, // one Query message a statement
		"exec":   pgx.QueryExecModeExec,           // one unnamed Parse a statement
	} {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DefaultQueryExecMode = mode
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		conns[name] = c
	}

	before := scrapeMetrics(t, addrs.Admin)
	const n = 40 // per connection; ids 0..n-1 fall on both shards
	shardsHit := map[int]bool{}
	for i := range n {
		id := int64(i)
		shardsHit[shardIndex(t, id)] = true
		for name, c := range conns {
			var got int64
			err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", id).Scan(&got)
			if err != nil {
				t.Fatalf("%s: query %d: %v", name, i, err)
			}
		}
	}
	if len(shardsHit) != len(cluster.Shards) {
		t.Fatalf("the keys reach shards %v only", shardsHit)
	}
	after := scrapeMetrics(t, addrs.Admin)

	queries := after.get(t, "shardgate_pg_queries_total")
	if d := queries - before.get(t, "shardgate_pg_queries_total"); d != 2*n {
		t.Errorf("shardgate_pg_queries_total grew by %v, want %d", d, 2*n)
	}
	if d := after.get(t, "shardgate_pg_routed_total") - before.get(t, "shardgate_pg_routed_total"); d != 2*n {
		t.Errorf("shardgate_pg_routed_total grew by %v, want %d", d, 2*n)
	}
	// Every text this proxy saw was cacheable: each was looked up once.
	if looked := after.get(t, lookups, "result", "hit") + after.get(t, lookups, "result", "miss"); looked != queries {
		t.Errorf("analyzer hits + misses = %v, queries = %v", looked, queries)
	}
	if d := after.get(t, lookups, "result", "hit") - before.get(t, lookups, "result", "hit"); d < 2*n-2 {
		t.Errorf("analyzer hits grew by %v: the statement's one shape should hit after its first miss", d)
	}
	if v := after.get(t, "shardgate_analyzer_cache_entries"); v < 1 {
		t.Errorf("shardgate_analyzer_cache_entries = %v", v)
	}
	for _, name := range []string{"shardgate_pg_refused_total", "shardgate_analyzer_errors_total", "shardgate_analyzer_uncacheable_total"} {
		if v := after.get(t, name); v != 0 {
			t.Errorf("%s = %v, want 0", name, v)
		}
	}
	if v := after.get(t, "shardgate_pg_sessions"); v != float64(len(conns)) {
		t.Errorf("shardgate_pg_sessions = %v, want %d", v, len(conns))
	}
	if v := after.get(t, "shardgate_shardmap_version"); v < 1 {
		t.Errorf("shardgate_shardmap_version = %v", v)
	}
	after.get(t, "shardgate_pg_connection_resets_total", "result", "ok")
	after.get(t, "shardgate_pg_connection_resets_total", "result", "failed")
	after.get(t, "go_goroutines")

	// The pools are named by the shard map's nodes.
	var acquired float64
	for i, sh := range cluster.Shards {
		pool := []string{"node", fmt.Sprintf("pg%d", i), "address", net.JoinHostPort(sh.Primary.Host, strconv.Itoa(sh.Primary.Port)), "user", "app", "database", "app"}
		with := func(kv ...string) []string { return append(append([]string(nil), pool...), kv...) }
		a := after.get(t, "shardgate_pool_acquires_total", pool...)
		if a < 1 {
			t.Errorf("pool pg%d: %v acquires", i, a)
		}
		b, _ := before.find("shardgate_pool_acquires_total", pool...) // no pool before its first use
		acquired += a - b
		open := 0.0
		for _, state := range []string{"idle", "in_use", "dialing"} {
			open += after.get(t, "shardgate_pool_connections", with("state", state)...)
		}
		if open < 1 {
			t.Errorf("pool pg%d: %v open connections", i, open)
		}
		if d := after.get(t, "shardgate_pool_dials_total", with("result", "ok")...); d < 1 {
			t.Errorf("pool pg%d: %v dials", i, d)
		}
		after.get(t, "shardgate_pool_dials_total", with("result", "failed")...)
		for _, name := range []string{"shardgate_pool_waiting_clients", "shardgate_pool_wait_seconds_total", "shardgate_pool_acquire_timeouts_total", "shardgate_pool_closed_connections_total"} {
			after.get(t, name, pool...)
		}
	}
	// Transaction pooling: each autocommit statement acquires once.
	if acquired != 2*n {
		t.Errorf("the pools handed out %v connections for %d statements", acquired, 2*n)
	}

	// Gauges follow the sessions as they leave.
	for _, c := range conns {
		c.Close(ctx)
	}
	deadline := time.Now().Add(5 * time.Second)
	for scrapeMetrics(t, addrs.Admin).get(t, "shardgate_pg_sessions") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("shardgate_pg_sessions did not fall to 0 after the clients left")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The metric names and help follow Prometheus' conventions (promlint).
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry() // also checks Collect against Describe
	if err := reg.Register(pgProxy.Metrics(func() *shardmap.Snapshot { return snap })); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestSpinPollsWithOneClient: with one client at work, the proxy's waits
// poll first (runtime.spin_wait's default), and /metrics counts the polls.
func TestSpinPollsWithOneClient(t *testing.T) {
	addrs := runProxy(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://app:app@%s/app?sslmode=disable", addrs.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	polls := func(m samples) float64 {
		return m.get(t, "shardgate_spin_polls_total", "result", "hit") + m.get(t, "shardgate_spin_polls_total", "result", "miss")
	}
	before := polls(scrapeMetrics(t, addrs.Admin))
	for i := range 50 {
		var got int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", int64(i)).Scan(&got); err != nil {
			t.Fatal(err)
		}
	}
	if d := polls(scrapeMetrics(t, addrs.Admin)) - before; d < 1 {
		t.Fatalf("one client's 50 queries: %v polls", d)
	}
}
