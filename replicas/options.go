package replicas

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// Options shape a Monitor.
type Options struct {
	// ProxyID names this proxy's heartbeat row on every primary (default:
	// the host name). Proxies sharing an id still measure lag correctly
	// (the primary numbers the heartbeats), but then each sees only part of
	// the row's history.
	ProxyID string
	// Snapshot returns the current shard map; the monitor follows its
	// changes, checking every MapCheckInterval (default 100ms) and on
	// Refresh. Required.
	Snapshot         func() *shardmap.Snapshot
	MapCheckInterval time.Duration
	// Drivers monitor keyspaces of their engine; shards of other engines
	// are not monitored (Pick finds no replica for them).
	Drivers map[shardmap.Engine]Driver

	// HeartbeatInterval is how often each primary's heartbeat row is
	// written (default 200ms). A replica's lag is measured to about this
	// resolution.
	HeartbeatInterval time.Duration
	// HeartbeatHistory is how many heartbeats are remembered per primary
	// (default 1024: 3m24s at 200ms).
	HeartbeatHistory int
	// PollInterval is how often each replica's replay position and
	// heartbeat are read (default 20ms).
	PollInterval time.Duration
	// ProbeTimeout bounds connecting and each heartbeat or poll (default
	// 1s); running out counts as a failed probe.
	ProbeTimeout time.Duration
	// LagThreshold is the lag beyond which a replica shows as lagging
	// (default 1s, config's max_lag). Only the shown state depends on it:
	// each read brings its own max_lag to Pick.
	LagThreshold time.Duration
	Breaker      BreakerOptions
	Listener     Listener
}

// EnsureDefaults fills in zero fields.
func (o *Options) EnsureDefaults() {
	if o.ProxyID == "" {
		o.ProxyID, _ = os.Hostname()
		if o.ProxyID == "" {
			o.ProxyID = "shardgate"
		}
	}
	if o.MapCheckInterval == 0 {
		o.MapCheckInterval = 100 * time.Millisecond
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 200 * time.Millisecond
	}
	if o.HeartbeatHistory == 0 {
		o.HeartbeatHistory = 1024
	}
	if o.PollInterval == 0 {
		o.PollInterval = 20 * time.Millisecond
	}
	if o.ProbeTimeout == 0 {
		o.ProbeTimeout = time.Second
	}
	if o.LagThreshold == 0 {
		o.LagThreshold = time.Second
	}
	o.Breaker.ensureDefaults()
}

// Validate reports what is wrong with o after EnsureDefaults.
func (o *Options) Validate() error {
	var errs []error
	if o.Snapshot == nil {
		errs = append(errs, errors.New("Snapshot is missing"))
	}
	if len(o.ProxyID) > 200 {
		errs = append(errs, fmt.Errorf("proxy id is %d bytes long, want at most 200", len(o.ProxyID)))
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, d))
		}
	}
	positive("map check interval", o.MapCheckInterval)
	positive("heartbeat interval", o.HeartbeatInterval)
	positive("poll interval", o.PollInterval)
	positive("probe timeout", o.ProbeTimeout)
	positive("lag threshold", o.LagThreshold)
	positive("breaker min backoff", o.Breaker.MinBackoff)
	if o.HeartbeatHistory < 2 {
		errs = append(errs, fmt.Errorf("heartbeat history must be at least 2, got %d", o.HeartbeatHistory))
	}
	if o.Breaker.Failures < 1 {
		errs = append(errs, fmt.Errorf("breaker failures must be at least 1, got %d", o.Breaker.Failures))
	}
	if o.Breaker.MaxBackoff < o.Breaker.MinBackoff {
		errs = append(errs, fmt.Errorf("breaker max backoff %s is below its min backoff %s", o.Breaker.MaxBackoff, o.Breaker.MinBackoff))
	}
	for e, d := range o.Drivers {
		if d == nil {
			errs = append(errs, fmt.Errorf("driver for %s is nil", e))
		}
	}
	return errors.Join(errs...)
}

// ConfigOptions are the Options that cfg (after EnsureDefaults) sets: the
// proxy id, the timing of config's replicas section (an ejected node is
// retried at least every probe_interval), a Postgres driver logging in
// as the Postgres backend's control user and a MariaDB driver logging in as
// the MySQL backend's. The caller adds Snapshot, and a Listener.
func ConfigOptions(cfg *config.Config) Options {
	r := cfg.Replicas
	o := Options{
		ProxyID:           cfg.ProxyID,
		HeartbeatInterval: r.HeartbeatInterval,
		LagThreshold:      r.MaxLag,
		Breaker: BreakerOptions{
			MinBackoff: min(100*time.Millisecond, r.ProbeInterval),
			MaxBackoff: r.ProbeInterval,
		},
		Drivers: map[shardmap.Engine]Driver{},
	}
	if b := cfg.Backends.Postgres; b != nil {
		o.Drivers[shardmap.Postgres] = PostgresFromConfig(b, cfg.Pools.ConnectTimeout)
	}
	if b := cfg.Backends.MySQL; b != nil {
		o.Drivers[shardmap.MySQL] = MariaDBFromConfig(b, cfg.Pools.ConnectTimeout)
	}
	return o
}
