package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr is how every child is started: in its own process group, so a
// terminal's Ctrl-C reaches only the test binary, which then stops the
// servers in order; with a parent-death signal, so that a test binary that
// dies any other way takes them along (see spawner for the thread caveat);
// and as cred's user when not nil.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// procID names a process robustly against pid reuse: a pid and the time it
// started, in clock ticks since boot.
type procID struct {
	PID   int
	Start uint64
}

func (p procID) String() string { return strconv.Itoa(p.PID) }

// statOf reads a process's state letter and start time from /proc.
func statOf(pid int) (state byte, start uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, false
	}
	start, err = strconv.ParseUint(f[19], 10, 64) // field 22
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], start, true
}

func procOf(pid int) (procID, bool) {
	_, start, ok := statOf(pid)
	return procID{PID: pid, Start: start}, ok
}

// alive reports whether the process still runs (zombies count as gone).
func (p procID) alive() bool {
	state, start, ok := statOf(p.PID)
	return ok && start == p.Start && state != 'Z' && state != 'X'
}

func (p procID) kill() {
	if p.alive() {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

// procsUnder lists the live processes, other than this one, whose working
// directory is dir or below it.
func procsUnder(dir string) []procID {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []procID
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil {
			continue // gone, a zombie, or not ours to see
		}
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if cwd != dir && !strings.HasPrefix(cwd, dir+"/") {
			continue
		}
		if p, ok := procOf(pid); ok && p.alive() {
			out = append(out, p)
		}
	}
	return out
}
