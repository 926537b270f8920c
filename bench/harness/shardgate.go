package harness

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/shardgate/shardgate/auth"
)

// SchedGODEBUG is the Makefile's SCHED_GODEBUG, which `make build` links
// in as runtime.godebugDefault: Go's sysmon kept out of its deep sleep
// (bench/RESULTS.md, 2026-11-26).
const SchedGODEBUG = "schedtrace=2147483647"

// BuildShardgate builds cmd/shardgate of the source tree dir into bin, with
// Go's defaults (a GODEBUG comes from the environment only).
func BuildShardgate(dir, bin string) error { return buildShardgate(dir, bin) }

// BuildShardgateRelease builds cmd/shardgate as `make build` does: with
// SchedGODEBUG as the link-time GODEBUG default, so that the binary
// measured is the one shipped whatever the environment says.
func BuildShardgateRelease(dir, bin string) error {
	return buildShardgate(dir, bin, "-ldflags", "-X runtime.godebugDefault="+SchedGODEBUG)
}

func buildShardgate(dir, bin string, flags ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", bin, "./cmd/shardgate")
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, err, out)
	}
	return nil
}

// ShardgateConfig is what differs between the benchmarks' shardgate
// configs; the rest is fixed: user app/app (SCRAM), backends as app/app,
// transaction pooling, warnings only.
type ShardgateConfig struct {
	// Name names the config file and the store under the work directory.
	Name string
	// MaxProcs is runtime.max_procs; 0 leaves GOMAXPROCS to Go and removes
	// GOMAXPROCS from the environment, so that Go's default shows.
	MaxProcs int
	// SpinWait is runtime.spin_wait ("": the default).
	SpinWait string
	// Env is more environment ("NAME=value", replacing any NAME) for the
	// shardgate process: GODEBUG, say.
	Env []string
	// Extra is more top-level YAML (say, a transactions: section), ending
	// with a newline.
	Extra string
	// PoolMode is pools.mode: transaction (the default) or session.
	PoolMode string
	// MaxServerConns is pools.max_server_conns_per_node (0: 20, as
	// PgBouncer's default_pool_size in the benchmarks).
	MaxServerConns int
	// PipelineDepth is pools.pipeline_depth (0: off).
	PipelineDepth int
	// Keyspaces is the items of topology.keyspaces, indented by four
	// spaces ("    - name: app\n      engine: postgres\n …").
	Keyspaces string
}

// Shardgate is a running shardgate.
type Shardgate struct {
	*Process
	Port  int // its Postgres listener
	Admin int // its admin listener (/metrics, /debug/pprof)
}

// StartShardgate writes cfg under dir and starts bin serving it, and waits
// for its Postgres port. Stop it with os.Interrupt.
func StartShardgate(dir, bin string, cfg ShardgateConfig) (*Shardgate, error) {
	return startShardgate(dir, bin, cfg, func(v auth.Verifiers, pw string) endpoint {
		return endpoint{"postgres", fmt.Sprintf("scram_sha_256: %q", v.SCRAMSHA256),
			"postgres: {user: app, password_file: " + pw + "}"}
	})
}

// endpoint is what a config says differently for each client endpoint:
// the listener's name, the app user's verifier and the backend login.
type endpoint struct{ listener, verifier, backend string }

// startShardgate writes the config of cfg for the endpoint ep gives (from
// the app's verifiers and its password file) and starts bin serving it.
func startShardgate(dir, bin string, cfg ShardgateConfig, ep func(v auth.Verifiers, pw string) endpoint) (*Shardgate, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	admin, err := FreePort()
	if err != nil {
		return nil, err
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		return nil, err
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("app\n"), 0o600); err != nil {
		return nil, err
	}
	e := ep(v, pw)
	path := filepath.Join(dir, cfg.Name+".yaml")
	poolMode := cfg.PoolMode
	if poolMode == "" {
		poolMode = "transaction"
	}
	maxConns := cfg.MaxServerConns
	if maxConns == 0 {
		maxConns = 20
	}
	pipeline := ""
	if cfg.PipelineDepth != 0 {
		pipeline = fmt.Sprintf(", pipeline_depth: %d", cfg.PipelineDepth)
	}
	spinWait := ""
	if cfg.SpinWait != "" {
		spinWait = ", spin_wait: " + cfg.SpinWait
	}
	text := fmt.Sprintf(`listeners:
  %s: {address: "127.0.0.1:%d"}
  admin: {address: "127.0.0.1:%d"}
users:
  - {name: app, %s}
backends:
  %s
pools: {mode: %s, max_server_conns_per_node: %d%s}
runtime: {max_procs: %d%s}
store: {path: %s}
logging: {level: warn}
%stopology:
  keyspaces:
%s`, e.listener, port, admin, e.verifier, e.backend, poolMode, maxConns, pipeline, cfg.MaxProcs, spinWait, filepath.Join(dir, cfg.Name+"-store"), cfg.Extra, cfg.Keyspaces)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, err
	}
	var env []string
	if cfg.MaxProcs == 0 {
		env = WithoutEnv("GOMAXPROCS")
	}
	for _, kv := range cfg.Env {
		if env == nil {
			env = os.Environ()
		}
		env = withEnv(env, kv)
	}
	p, err := Start(env, bin, "serve", "-c", path)
	if err != nil {
		return nil, err
	}
	if err := WaitPort(port); err != nil {
		p.Stop(os.Kill)
		return nil, err
	}
	return &Shardgate{Process: p, Port: port, Admin: admin}, nil
}

// SaveProfile saves one of shardgate's /debug/pprof profiles ("allocs",
// "profile?seconds=10") to path.
func (s *Shardgate) SaveProfile(profile, path string) error {
	return SaveProfile(s.Admin, profile, path)
}

// SaveProfile saves profile from the /debug/pprof of the shardgate whose
// admin listener is on port admin.
func SaveProfile(admin int, profile, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", admin, profile))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
