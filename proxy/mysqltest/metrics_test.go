package mysqltest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/shardgate/shardgate/shardmap"
)

func TestMetrics(t *testing.T) {
	c := conn(t, "")
	one(t, c, "SELECT name FROM products WHERE id = 1")
	// A one-shard read on a primary: a direct command to count.
	if rows, err := c.QueryContext(t.Context(), "SELECT name FROM users WHERE id = 1"); err == nil {
		rows.Close()
	} else {
		t.Fatal(err)
	}
	c.ExecContext(t.Context(), "SELEKT 1")  //nolint:errcheck // an error to count
	reg := prometheus.NewPedanticRegistry() // also checks Collect against Describe
	if err := reg.Register(myProxy.Metrics(func() *shardmap.Snapshot { return snap })); err != nil {
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
	seen := map[string]bool{}
	for _, mf := range mfs {
		seen[mf.GetName()] = true
		if mf.GetName() == "shardgate_mysql_errors_total" && mf.GetMetric()[0].GetCounter().GetValue() < 1 {
			t.Fatal("the syntax error was not counted")
		}
		if mf.GetName() == "shardgate_mysql_direct_commands_total" && mf.GetMetric()[0].GetCounter().GetValue() < 1 {
			t.Fatal("the one-shard read was not counted as a direct command")
		}
		if mf.GetName() == "shardgate_mysql_pool_connections" {
			for _, lp := range mf.GetMetric()[0].GetLabel() {
				if lp.GetName() == "node" && lp.GetValue() != "my0" && lp.GetValue() != "my1" {
					t.Fatalf("pool node label %q", lp.GetValue())
				}
			}
		}
	}
	for _, name := range []string{"shardgate_mysql_queries_total", "shardgate_mysql_direct_commands_total", "shardgate_mysql_sessions", "shardgate_mysql_pool_connections", "shardgate_mysql_pool_acquires_total", "shardgate_mysql_failover_held_total"} {
		if !seen[name] {
			t.Errorf("metric %s missing", name)
		}
	}
}
