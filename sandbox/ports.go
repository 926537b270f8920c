package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// forbiddenPorts belong to real servers and to the demo; a sandbox node
// never listens on them, even if they happen to be free.
var forbiddenPorts = map[int]bool{3306: true, 3307: true, 5432: true, 6432: true, 9090: true}

// portLease is a loopback port reserved for one node for the life of its
// cluster.
//
// The kernel hands out a free port for 127.0.0.1:0, but the port is free
// again once we close that listener, and another test process may be handed
// the same one before our server binds it. Leases close that gap between
// sandbox users: each port is guarded by an flock on a file under
// $TMPDIR/shardgate-ports, held until the cluster stops (flocks die with the
// process, so a killed test never leaks one). Processes that are not sandbox
// users can still take the port; for them the node start retries on a new
// port when the server reports "Address already in use".
type portLease struct {
	Port int
	file *os.File
	path string
}

func leaseDir() string { return filepath.Join(os.TempDir(), "shardgate-ports") }

func leasePort() (*portLease, error) {
	dir := leaseDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("port leases: %w", err)
	}
	// Shared with sandbox users running as other OS users; best effort.
	_ = os.Chmod(dir, 0o1777)
	var lastErr error
	for range 64 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if forbiddenPorts[port] {
			continue
		}
		l, err := lockPort(dir, port)
		if err != nil {
			lastErr = err
			continue
		}
		if l != nil {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no free loopback port found: %v", lastErr)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// lockPort returns nil, nil when another sandbox holds the port.
func lockPort(dir string, port int) (*portLease, error) {
	path := filepath.Join(dir, strconv.Itoa(port))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The previous holder unlinks the file when it lets go; if that happened
	// between our open and our flock, we locked an orphaned inode.
	held, err1 := f.Stat()
	named, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, named) {
		f.Close()
		return nil, nil
	}
	return &portLease{Port: port, file: f, path: path}, nil
}

// release frees the port for other sandbox users. Unlinking before closing
// (still holding the lock) keeps the file count bounded without letting two
// processes hold the "same" lock.
func (l *portLease) release() {
	if l == nil || l.file == nil {
		return
	}
	_ = os.Remove(l.path)
	_ = l.file.Close()
	l.file = nil
}

// sweepLeases removes lease files that nobody holds: those of processes that
// were killed before they could release them.
func sweepLeases(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		port, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, _ := lockPort(dir, port); l != nil {
			l.release()
		}
	}
}
