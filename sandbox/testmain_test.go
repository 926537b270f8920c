package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const mainEnv = "SANDBOX_TEST_MAIN"

// mainChild is the TestMain of the child of TestMainStopsOnSignal: Main
// with a setup that starts one standalone node per engine.
func mainChild(m *testing.M) {
	Main(m, func(ctx context.Context) (func() error, error) {
		var clusters []*Cluster
		stop := func() error {
			var errs []error
			for _, c := range clusters {
				errs = append(errs, c.Stop())
			}
			return errors.Join(errs...)
		}
		for _, e := range []Engine{Postgres, MariaDB} {
			if Available(e) != nil {
				continue
			}
			c, err := start(ctx, e, Spec{})
			if err != nil {
				return nil, errors.Join(err, stop())
			}
			clusters = append(clusters, c)
			fmt.Printf("DIR %s\n", c.Dir)
			for _, p := range procsUnder(c.Dir) {
				fmt.Printf("PROC %d %d\n", p.PID, p.Start)
			}
		}
		return stop, nil
	})
}

func TestWaitForSignal(t *testing.T) {
	if os.Getenv(mainEnv) == "" {
		t.Skip("run by TestMainStopsOnSignal")
	}
	fmt.Println("READY")
	time.Sleep(time.Minute)
}

// SIGINT in the middle of the tests stops the clusters Main's setup started
// and removes their folders.
func TestMainStopsOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	if Available(Postgres) != nil && Available(MariaDB) != nil {
		t.Skip("no engine available")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWaitForSignal$", "-test.count=1")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start(), "start child")
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()

	var dirs []string
	var procs []procID
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "READY" {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "DIR":
			dirs = append(dirs, f[1])
		case len(f) == 3 && f[0] == "PROC":
			var p procID
			fmt.Sscan(f[1]+" "+f[2], &p.PID, &p.Start)
			procs = append(procs, p)
		}
	}
	if len(dirs) == 0 || len(procs) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child started nothing:\n%s", stderr.String())
	}
	must(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("child exited with %v, want status 1", err)
	}
	if !strings.Contains(stderr.String(), "interrupt: stopping clusters") {
		t.Errorf("child's stderr:\n%s", stderr.String())
	}
	// Main stopped everything before exiting: no waiting needed.
	if a := alive(procs); len(a) > 0 {
		t.Errorf("processes %v survived", a)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s not removed: %v", d, err)
		}
	}
}
