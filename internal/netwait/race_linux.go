//go:build linux && race

package netwait

import (
	"runtime"
	"syscall"
	"unsafe"
)

// The race detector learns that bytes sent on a socket happen before the
// peer's reads of them from the syscall package: its Write releases, and
// its Read acquires, one object for all I/O. A raw system call tells it
// nothing, so a test that checks a session's state once its client has
// the answer (written after the state) would see a race that the socket's
// order rules out. Under -race, each raw read and write also makes an
// empty syscall.Read or syscall.Write on the descriptor, for its
// bookkeeping alone, and reports the bytes it moved.

// raceRead follows a raw read of n bytes into p.
func raceRead(fd uintptr, p []byte, n int) {
	syscall.Read(int(fd), p[:0])
	if n > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&p[0]), n)
	}
}

// raceWrite precedes a raw write of p.
func raceWrite(fd uintptr, p []byte) {
	syscall.Write(int(fd), p[:0])
	if len(p) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(&p[0]), len(p))
	}
}
