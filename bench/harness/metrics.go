package harness

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// EachSample calls f with every sample of the admin /metrics on port
// admin (Prometheus text format); none if the endpoint is missing or
// fails.
func EachSample(admin int, f func(name, labels string, v float64)) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", admin))
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if name, labels, v, ok := parseSample(line); ok {
			f(name, labels, v)
		}
	}
}

// parseSample splits a Prometheus text-format sample line.
func parseSample(line string) (name, labels string, v float64, ok bool) {
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return "", "", 0, false
	}
	name, rest := line[:i], line[i:]
	if rest[0] == '{' {
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return "", "", 0, false
		}
		labels, rest = rest[1:j], rest[j+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return name, labels, v, err == nil
}
