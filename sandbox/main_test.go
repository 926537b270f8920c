package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// Clusters shared by the package's integration tests, started by TestMain.
var (
	sharedPG, sharedMaria *Cluster
	startTime             = map[Engine]time.Duration{}
	sharedSpec            = Spec{Shards: 2, Replicas: 1}
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(helperEnv) != "":
		os.Exit(m.Run()) // a child of TestKilledTestBinaryLeavesNoServers
	case os.Getenv(mainEnv) != "":
		mainChild(m) // a child of TestMainStopsOnSignal
		return
	}
	flag.Parse()
	Main(m, func(ctx context.Context) (func() error, error) {
		if testing.Short() {
			return nil, nil
		}
		var stops []func() error
		stopAll := func() error {
			var errs []error
			for _, s := range stops {
				errs = append(errs, s())
			}
			return errors.Join(errs...)
		}
		for _, e := range []Engine{Postgres, MariaDB} {
			if err := Available(e); err != nil {
				fmt.Printf("sandbox: %v unavailable, its tests will skip: %v\n", e, err)
				continue
			}
			t0 := time.Now()
			c, err := start(ctx, e, sharedSpec)
			if err != nil {
				return nil, errors.Join(err, stopAll())
			}
			startTime[e] = time.Since(t0)
			fmt.Printf("sandbox: %v cluster of %d shards × (1 primary + %d replica) ready in %v\n",
				e, sharedSpec.Shards, sharedSpec.Replicas, startTime[e].Round(time.Millisecond))
			stops = append(stops, c.Stop)
			if e == Postgres {
				sharedPG = c
			} else {
				sharedMaria = c
			}
		}
		return stopAll, nil
	})
}

func shared(t *testing.T, e Engine) *Cluster {
	t.Helper()
	c := map[Engine]*Cluster{Postgres: sharedPG, MariaDB: sharedMaria}[e]
	if c == nil {
		t.Skipf("no shared %v cluster (-short, or %v unavailable)", e, e)
	}
	return c
}

func needEngine(t *testing.T, e Engine) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts servers")
	}
	if err := Available(e); err != nil {
		t.Skip(err)
	}
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestStartTimes(t *testing.T) {
	limits := map[Engine]time.Duration{Postgres: 15 * time.Second, MariaDB: 20 * time.Second}
	for _, e := range []Engine{Postgres, MariaDB} {
		t.Run(e.String(), func(t *testing.T) {
			shared(t, e)
			t.Logf("%v: 2 shards × (primary + replica) ready in %v (limit %v)", e, startTime[e].Round(time.Millisecond), limits[e])
			if startTime[e] > limits[e] {
				t.Errorf("start took %v, want under %v", startTime[e], limits[e])
			}
		})
	}
}
