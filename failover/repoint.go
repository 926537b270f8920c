package failover

import (
	"context"
	"fmt"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// repointAll re-points the other replicas at the new primary; one that
// fails is a warning (it is still listed, and lags until fixed by hand).
// It returns those re-pointed.
func repointAll(ctx context.Context, o *Options, p server, others []shardmap.Node, database string, res *Result) []shardmap.Node {
	var done []shardmap.Node
	for _, r := range others {
		err := func() error {
			n, err := o.open(ctx, r, database)
			if err != nil {
				return err
			}
			defer n.close()
			return n.repoint(ctx, p)
		}()
		o.step(Step{Name: "repoint", Node: r.Name, Err: err, Detail: "→ " + p.nodeInfo().Addr})
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("replica %s not re-pointed: %v", r.Name, err))
			continue
		}
		done = append(done, r)
	}
	return done
}

// checkStreaming waits until every re-pointed replica streams from the new
// primary, up to StreamTimeout; those that do not are warnings. A replica
// that was ahead of the new primary (possible with asynchronous
// replication and a target given by hand) cannot follow it and needs a
// rebuild.
func checkStreaming(ctx context.Context, o *Options, replicas []shardmap.Node, p shardmap.Node, database string, res *Result) {
	deadline := time.Now().Add(o.StreamTimeout)
	for _, r := range replicas {
		detail, err := func() (string, error) {
			n, err := o.open(ctx, r, database)
			if err != nil {
				return "", err
			}
			defer n.close()
			for {
				ok, detail, err := n.streamingFrom(ctx, p)
				if err != nil || ok {
					return detail, err
				}
				if time.Now().After(deadline) {
					return detail, fmt.Errorf("not streaming from %s after %s (%s)", p.Name, o.StreamTimeout, detail)
				}
				if err := sleep(ctx, 20*time.Millisecond); err != nil {
					return detail, err
				}
			}
		}()
		o.step(Step{Name: "stream", Node: r.Name, Err: err, Detail: detail})
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("replica %s: %v", r.Name, err))
		}
	}
}
