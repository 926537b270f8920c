package replicas

import (
	"testing"
	"time"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

func TestConfigOptions(t *testing.T) {
	cfg := &config.Config{
		ProxyID:  "proxy-1",
		Backends: config.Backends{Postgres: &config.Backend{User: "app", ControlUser: "ctl"}},
		Replicas: config.Replicas{ProbeInterval: 50 * time.Millisecond, HeartbeatInterval: 150 * time.Millisecond},
	}
	cfg.EnsureDefaults()
	o := ConfigOptions(cfg)
	o.Snapshot = func() *shardmap.Snapshot { return nil }
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.ProxyID != "proxy-1" || o.HeartbeatInterval != 150*time.Millisecond || o.LagThreshold != time.Second ||
		o.Breaker.MaxBackoff != 50*time.Millisecond || o.Breaker.MinBackoff != 50*time.Millisecond || o.PollInterval != 20*time.Millisecond {
		t.Errorf("options %+v", o)
	}
	d, ok := o.Drivers[shardmap.Postgres].(*Postgres)
	if !ok || d.o.User != "ctl" {
		t.Errorf("Postgres driver %+v", o.Drivers)
	}
	if _, ok := o.Drivers[shardmap.MySQL]; ok {
		t.Error("a MySQL driver without a MySQL backend")
	}
}

func TestOptionsValidate(t *testing.T) {
	o := Options{HeartbeatInterval: -1, Breaker: BreakerOptions{MinBackoff: time.Second, MaxBackoff: time.Millisecond}}
	o.EnsureDefaults()
	if err := o.Validate(); err == nil {
		t.Fatal("bad options accepted")
	} else {
		t.Log(err)
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without Snapshot succeeded")
	}
}
