package harness

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ClkTck is the kernel's clock ticks per second, the unit of /proc's CPU
// times (100 on every Linux this runs on).
const ClkTck = 100

// Process is a program a benchmark started.
type Process struct {
	cmd *exec.Cmd
}

// Start starts a program with env (nil: this process's environment), its
// standard error going to this process's.
func Start(env []string, name string, args ...string) (*Process, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Process{cmd: cmd}, nil
}

// PID is the process's id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop sends sig and waits for the process to end.
func (p *Process) Stop(sig os.Signal) {
	p.cmd.Process.Signal(sig)
	p.cmd.Wait()
}

// Command runs a program to its end, with PGPASSWORD=app (the sandbox's
// user) in its environment; its output is in the error.
func Command(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD=app")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
	}
	return nil
}

// WithEnv is this process's environment with kv ("NAME=value") replacing
// any NAME.
func WithEnv(kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	return append(WithoutEnv(name), kv)
}

// withEnv is env with kv ("NAME=value") replacing any NAME.
func withEnv(env []string, kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

// WithoutEnv is this process's environment without name.
func WithoutEnv(name string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// FreePort is a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitPort waits up to a minute for 127.0.0.1:port to accept connections.
func WaitPort(port int) error {
	for i := 0; i < 600; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("port %d never opened", port)
}

// CPUTicks is the utime and stime of a process, in clock ticks (0 for pid
// 0 or a process that is gone).
func CPUTicks(pid int) (user, sys int64) {
	if pid == 0 {
		return 0, 0
	}
	f := statFields(pid)
	if f == nil {
		return 0, 0
	}
	user, _ = strconv.ParseInt(f[11], 10, 64)
	sys, _ = strconv.ParseInt(f[12], 10, 64)
	return user, sys
}

// TreeTicks is the CPU time of a server and its children (Postgres: the
// postmaster, its backends and background processes), in clock ticks:
// the utime and stime of pid and of each live child, and the cutime and
// cstime of pid, where the children that exited and were waited for left
// theirs. 0 for pid 0.
//
// A child that has exited but is not yet waited for shows no CPU time, and
// one waited for during the scan may be counted twice or not at all: the
// count is retried (for up to 2 s) until no child is a zombie and pid's
// own times did not move during the scan. Without that, a run whose
// backends exit at its end (direct, the relay) gave part of their time
// to the next run's window.
func TreeTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	var total int64
	for try := 0; try < 40; try++ {
		before := ownTicks(pid)
		var zombies bool
		total, zombies = childTicks(pid)
		after := ownTicks(pid)
		total += after
		if !zombies && before == after {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return total
}

// ownTicks is pid's utime, stime, cutime and cstime.
func ownTicks(pid int) int64 {
	var total int64
	if f := statFields(pid); f != nil {
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			total += v
		}
	}
	return total
}

// childTicks is the utime and stime of pid's live children, and whether
// one of them is a zombie.
func childTicks(pid int) (total int64, zombies bool) {
	ppid := strconv.Itoa(pid)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := statFields(child)
		if f == nil || f[1] != ppid {
			continue
		}
		if f[0] == "Z" {
			zombies = true
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += u + st
	}
	return total, zombies
}

// MachineTicks is the whole machine's busy time in clock ticks, summed
// over its CPUs: /proc/stat's user, nice, system, irq, softirq and steal
// (idle and iowait left out). 0 if unreadable.
func MachineTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var total int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, _ := strconv.ParseInt(f[i], 10, 64)
		total += v
	}
	return total
}

// statFields is /proc/PID/stat's fields after the command name (state
// first), or nil.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
}

// TicksPerTx is CPU ticks per transaction in microseconds (0 without
// transactions).
func TicksPerTx(ticks, txs int64) float64 {
	if txs == 0 {
		return 0
	}
	return float64(ticks) * 1e6 / ClkTck / float64(txs)
}
