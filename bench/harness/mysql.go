package harness

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"

	"github.com/shardgate/shardgate/auth"
)

// StartShardgateMySQL is StartShardgate for the MySQL endpoint: cfg's
// Keyspaces are of engine mysql, the client user is app/app
// (mysql_native_password), the backends are logged into as app/app
// without TLS, transaction pooling with 20 server connections per node.
// Port is the MySQL listener. Stop it with os.Interrupt.
func StartShardgateMySQL(dir, bin string, cfg ShardgateConfig) (*Shardgate, error) {
	return startShardgate(dir, bin, cfg, func(v auth.Verifiers, pw string) endpoint {
		return endpoint{"mysql", fmt.Sprintf("mysql_native_password: %q", v.MySQLNative),
			"mysql: {user: app, password_file: " + pw + ", tls: {mode: disable}}"}
	})
}

// SysbenchRun is what sysbench 1.0 reports of one run.
type SysbenchRun struct {
	Queries int64   // "queries: N"
	QPS     float64 // "(… per sec.)" of the queries line
	Errors  int64   // "ignored errors: N"
	P95Ms   float64 // "95th percentile: …" (ms)
	AvgMs   float64 // "avg: …" (ms)
}

var (
	sbQueriesRe = regexp.MustCompile(`(?m)^\s*queries:\s+(\d+)\s+\(([\d.]+) per sec`)
	sbErrorsRe  = regexp.MustCompile(`(?m)^\s*ignored errors:\s+(\d+)`)
	sbP95Re     = regexp.MustCompile(`(?m)^\s*95th percentile:\s+([\d.]+)`)
	sbAvgRe     = regexp.MustCompile(`(?m)^\s*avg:\s+([\d.]+)`)
)

// Sysbench runs sysbench's test (oltp_point_select, say) with args (run
// or prepare last), connected to database app on 127.0.0.1:port as
// app/app without TLS. A run that fails is an error carrying sysbench's
// first error line.
func Sysbench(ctx context.Context, port int, test string, args ...string) (SysbenchRun, string, error) {
	all := append([]string{test, "--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-port=" + strconv.Itoa(port),
		"--mysql-user=app", "--mysql-password=app", "--mysql-db=app", "--mysql-ssl=off"}, args...)
	out, err := exec.CommandContext(ctx, "sysbench", all...).CombinedOutput()
	s := string(out)
	if err != nil {
		return SysbenchRun{}, s, fmt.Errorf("sysbench %s: %v: %s", test, err, ErrorLine(s))
	}
	var r SysbenchRun
	if m := sbQueriesRe.FindStringSubmatch(s); m != nil {
		r.Queries, _ = strconv.ParseInt(m[1], 10, 64)
		r.QPS, _ = strconv.ParseFloat(m[2], 64)
	}
	if m := sbErrorsRe.FindStringSubmatch(s); m != nil {
		r.Errors, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := sbP95Re.FindStringSubmatch(s); m != nil {
		r.P95Ms, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := sbAvgRe.FindStringSubmatch(s); m != nil {
		r.AvgMs, _ = strconv.ParseFloat(m[1], 64)
	}
	return r, s, nil
}

// Output runs a program to its end and returns its standard output; its
// standard error is in the error.
func Output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return "", fmt.Errorf("%s %v: %w\n%s", name, args, err, msg)
	}
	return string(out), nil
}
