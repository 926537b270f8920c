package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// PgbenchRun is what pgbench reports of one run.
type PgbenchRun struct {
	TPS       float64 // "tps = …", without the initial connection time
	LatencyMs float64 // "latency average = … ms"
	Txs       int64   // "number of transactions actually processed"
	// CPU is pgbench's own user and system time over the run.
	CPU time.Duration
}

var (
	tpsRe     = regexp.MustCompile(`tps = ([\d.]+)`)
	latencyRe = regexp.MustCompile(`latency average = ([\d.]+) ms`)
	txsRe     = regexp.MustCompile(`actually processed: (\d+)`)
	failedRe  = regexp.MustCompile(`number of failed transactions: (\d+)`)
)

// Pgbench runs pgbench with args, then the options that connect it to
// database app on 127.0.0.1:port as app/app. A run that fails, or reports
// failed transactions, is an error carrying pgbench's first error line.
func Pgbench(ctx context.Context, port int, args ...string) (PgbenchRun, error) {
	args = append(args, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "app", "app")
	cmd := exec.CommandContext(ctx, "pgbench", args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD=app")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return PgbenchRun{}, fmt.Errorf("%v: %s", err, ErrorLine(string(out)))
	}
	s := string(out)
	r := PgbenchRun{CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if m := tpsRe.FindStringSubmatch(s); m != nil {
		r.TPS, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := latencyRe.FindStringSubmatch(s); m != nil {
		r.LatencyMs, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := txsRe.FindStringSubmatch(s); m != nil {
		r.Txs, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := failedRe.FindStringSubmatch(s); m != nil && m[1] != "0" {
		return PgbenchRun{}, fmt.Errorf("%s failed transactions", m[1])
	}
	return r, nil
}

// ErrorLine is the first line of a program's output that tells an error,
// or its first line.
func ErrorLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(strings.ToLower(l), "error") {
			return strings.TrimSpace(l)
		}
	}
	return FirstLine(out)
}

// FirstLine is s up to its first newline.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
