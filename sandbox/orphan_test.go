package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const helperEnv = "SANDBOX_TEST_HELPER"

// TestHelperProcess is the child of TestKilledTestBinaryLeavesNoServers: it
// starts clusters, reports their folders and processes, and waits to be
// killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("run by TestKilledTestBinaryLeavesNoServers")
	}
	ctx := testContext(t, time.Minute)
	for _, e := range []Engine{Postgres, MariaDB} {
		if Available(e) != nil {
			continue
		}
		c, err := start(ctx, e, Spec{Replicas: 1})
		must(t, err, "start")
		fmt.Printf("DIR %s %d\n", c.Dir, len(c.Nodes()))
		for _, n := range c.Nodes() {
			fmt.Printf("PORT %d\n", n.Port)
		}
		for _, p := range procsUnder(c.Dir) {
			fmt.Printf("PROC %d %d\n", p.PID, p.Start)
		}
	}
	fmt.Println("READY")
	time.Sleep(time.Minute) // the parent kills us long before
}

// A test binary killed by SIGKILL cannot stop its clusters; the servers must
// die anyway (parent-death signal), and so must every process they started
// (Postgres backends notice their postmaster's death). The next start
// removes the folders.
func TestKilledTestBinaryLeavesNoServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	if Available(Postgres) != nil && Available(MariaDB) != nil {
		t.Skip("no engine available")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start(), "start helper")
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()

	var procs []procID
	var ports []string
	dirs := map[string]int{}
	sc := bufio.NewScanner(out)
	ready := false
	for !ready && sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "DIR":
			var nodes int
			fmt.Sscan(f[2], &nodes)
			dirs[f[1]] = nodes
		case len(f) == 3 && f[0] == "PROC":
			var p procID
			fmt.Sscan(f[1]+" "+f[2], &p.PID, &p.Start)
			procs = append(procs, p)
		case len(f) == 2 && f[0] == "PORT":
			ports = append(ports, f[1])
		case len(f) == 1 && f[0] == "READY":
			ready = true
		}
	}
	if !ready {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper never got ready:\n%s", stderr.String())
	}
	for dir, nodes := range dirs {
		if len(procsUnder(dir)) < nodes {
			t.Fatalf("%s: fewer processes than nodes", dir)
		}
	}
	t.Logf("helper runs %d server processes in %d clusters; SIGKILL it", len(procs), len(dirs))

	must(t, cmd.Process.Kill())
	cmd.Wait()
	killed := time.Now()
	eventually(t, 5*time.Second, func() bool {
		for _, p := range procs {
			if p.alive() {
				return false
			}
		}
		return true
	}, "server processes outlived the killed test binary: %v", alive(procs))
	t.Logf("all %d gone %v after the kill", len(procs), time.Since(killed).Round(time.Millisecond))

	for dir := range dirs {
		if left := procsUnder(dir); len(left) > 0 {
			t.Errorf("%s: processes %v remain", dir, left)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s should outlive its killed owner until swept: %v", dir, err)
		}
	}
	sweepStale(os.TempDir())
	for dir := range dirs {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s not swept: %v", dir, err)
		}
	}
	for _, port := range ports {
		if _, err := os.Stat(filepath.Join(leaseDir(), port)); !os.IsNotExist(err) {
			t.Errorf("lease of port %s not swept: %v", port, err)
		}
	}
}

func alive(procs []procID) []procID {
	var out []procID
	for _, p := range procs {
		if p.alive() {
			out = append(out, p)
		}
	}
	return out
}
