//go:build !linux

package sandbox

import (
	"strconv"
	"syscall"
)

// Without Linux's parent-death signal and /proc, a killed test binary can
// leave servers running, and leftover workers are not searched for.

func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

type procID struct {
	PID   int
	Start uint64
}

func (p procID) String() string { return strconv.Itoa(p.PID) }

func procOf(pid int) (procID, bool) { return procID{PID: pid}, syscall.Kill(pid, 0) == nil }

func (p procID) alive() bool { return syscall.Kill(p.PID, 0) == nil }

func (p procID) kill() { _ = syscall.Kill(p.PID, syscall.SIGKILL) }

func procsUnder(string) []procID { return nil }
