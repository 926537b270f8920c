package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

var errClusterStopped = errors.New("sandbox: cluster is stopped")

// spawner starts every child process of one cluster, always from the same
// OS thread: a goroutine that locks its thread for as long as the cluster
// lives and never unlocks it.
//
// Why: children get SysProcAttr.Pdeathsig = SIGKILL so that a test binary
// that dies, even by SIGKILL, takes its servers with it. But the kernel sends
// that signal when the *thread* that forked the child ends, not the process
// (prctl(2); golang/go#27505). The Go runtime only ends a thread when a
// goroutine that locked it exits still locked. Forking from an ordinary
// goroutine is therefore safe only until some other goroutine happens to lock
// that same pooled thread and exit locked (code that enters a network
// namespace does exactly this, golang/go#34031), which would kill our servers
// at a random moment. Locking only around cmd.Start is worse: exiting while
// locked kills the thread at once, and unlocking hands it back to the pool.
// A thread owned by the spawner can run no other goroutine and ends exactly
// when the spawner does, after Cluster.Stop has stopped every server; should
// one still be alive then, the thread's end is one more SIGKILL for it.
type spawner struct {
	mu     sync.Mutex
	closed bool
	reqs   chan spawnReq
	done   chan struct{}
}

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan<- error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	runtime.LockOSThread() // never unlocked, on purpose: see spawner.
	defer close(s.done)
	for r := range s.reqs {
		r.errc <- r.cmd.Start()
	}
}

func (s *spawner) start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClusterStopped
	}
	s.reqs <- spawnReq{cmd: cmd, errc: errc}
	s.mu.Unlock()
	return <-errc
}

// close ends the spawner goroutine and with it its thread. Call it only once
// every child is gone.
func (s *spawner) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.reqs)
	}
	s.mu.Unlock()
	<-s.done
}

// process is a started child. A goroutine per process waits for it, so that
// its exit is seen (and it is reaped) whoever is looking.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's result; read only after done is closed
}

func startProcess(sp *spawner, cmd *exec.Cmd) (*process, error) {
	if err := sp.start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits for the process to exit; when ctx ends first it
// kills it. It returns an error only if the process had to be killed.
func (p *process) stop(ctx context.Context, sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.kill()
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	p.kill()
	return fmt.Errorf("pid %d did not exit on %v in time; killed it", p.pid(), sig)
}

// kill sends SIGKILL to the process and its process group and waits for it.
func (p *process) kill() {
	if !p.exited() {
		// The group holds helpers a child forked without setsid (the
		// bootstrap server of mariadb-install-db, for instance).
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// runCommand runs a short-lived tool to completion, killing it (and its
// process group) when ctx ends. Its output is returned in the error.
func runCommand(ctx context.Context, sp *spawner, cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 5 * time.Second // a grandchild holding the pipe must not hang us
	p, err := startProcess(sp, cmd)
	if err != nil {
		return err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("%s: %w\n%s", cmd.Path, ctx.Err(), tail(out.Bytes(), 2048))
	}
	if p.err != nil {
		return fmt.Errorf("%s %s: %w\n%s", cmd.Path, strings.Join(cmd.Args[1:], " "), p.err, tail(out.Bytes(), 2048))
	}
	return nil
}

// fileTail returns up to limit bytes from the end of a log file.
func fileTail(path string, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := st.Size() - limit
	if off < 0 {
		off = 0
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	return tail(b, int(limit))
}

// fileSince returns what was appended to a file after offset.
func fileSince(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.NewSectionReader(f, offset, 1<<20))
	return string(b)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func tail(b []byte, limit int) string {
	if len(b) > limit {
		b = b[len(b)-limit:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return "(no output)"
	}
	return s
}

// reapUnder waits up to grace for every process whose working directory is
// inside dir to exit, then kills the rest. Servers chdir into their data
// folder and their workers inherit it, so this finds what a killed server
// leaves behind (Postgres backends outlive a SIGKILLed postmaster until they
// notice its death) without trusting process trees or process groups, which
// the servers rearrange (every Postgres backend calls setsid).
func reapUnder(dir string, grace time.Duration) error {
	deadline := time.Now().Add(grace)
	killed := false
	for {
		left := procsUnder(dir)
		if len(left) == 0 {
			return nil
		}
		now := time.Now()
		if now.After(deadline) {
			if killed {
				return fmt.Errorf("processes %v under %s survive SIGKILL", left, dir)
			}
			for _, p := range left {
				p.kill()
			}
			killed = true
			deadline = now.Add(3 * time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
