package sandbox

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// A port taken by a process that holds no lease (anything but a sandbox)
// between our lease and the server's bind makes the node move to another.
func TestPortTakenMeanwhile(t *testing.T) {
	for _, e := range []Engine{Postgres, MariaDB} {
		t.Run(e.String(), func(t *testing.T) {
			needEngine(t, e)
			c, err := newCluster(e, Spec{})
			must(t, err, "lay out")
			defer c.Stop()
			p := c.Shards[0].Primary
			taken := p.Port
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)))
			must(t, err, "occupy")
			defer ln.Close()
			must(t, c.boot(testContext(t, time.Minute)), "boot")
			if p.Port == taken {
				t.Fatalf("node kept the occupied port %d", taken)
			}
			t.Logf("moved from port %d to %d", taken, p.Port)
			queryString(t, testContext(t, 10*time.Second), p, "SELECT 1")
			must(t, c.Stop(), "stop")
		})
	}
}
