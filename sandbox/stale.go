package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Cluster folders made under the temp folder are named dirPrefix+random and
// hold an ownerFile naming the process that made them, so that a later start
// can remove the folders of test binaries that died without stopping their
// clusters (their servers died with them: see spawner).
const (
	dirPrefix = "shardgate-sandbox-"
	ownerFile = ".owner"
)

func writeOwner(dir string) error {
	self, _ := procOf(os.Getpid())
	return os.WriteFile(filepath.Join(dir, ownerFile), fmt.Appendf(nil, "%d %d\n", self.PID, self.Start), 0o644)
}

// sweepStale removes cluster folders in tmp whose owner is dead, and port
// lease files nobody holds. A folder is kept while any process still works
// in it: this never kills anything.
func sweepStale(tmp string) {
	sweepLeases(leaseDir())
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		if !ownerDead(dir) || len(procsUnder(dir)) > 0 {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

func ownerDead(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		// No owner yet: a start in progress, or one killed in its first
		// instant. Only the latter gets old.
		st, err := os.Stat(dir)
		return err == nil && time.Since(st.ModTime()) > time.Minute
	}
	var owner procID
	if _, err := fmt.Sscan(string(b), &owner.PID, &owner.Start); err != nil {
		return false
	}
	return !owner.alive()
}
