package config

import (
	"fmt"

	"github.com/shardgate/shardgate/shardmap"
)

// GlobalIDs is this proxy's part in making global IDs (the generators
// themselves are declared in the topology, per keyspace).
type GlobalIDs struct {
	// Node is this proxy's node id in snowflake IDs, 0-1023. Every proxy
	// that shares a shard map needs its own: two proxies with the same
	// node id can make the same ID. Required when a snowflake generator
	// is declared; there is no default, since none could be unique.
	Node *int `yaml:"node,omitempty"`
}

// MaxSnowflakeNode is the largest snowflake node id (10 bits).
const MaxSnowflakeNode = 1023

func (g GlobalIDs) validate(p *problems, topo *shardmap.MapSpec) {
	if g.Node != nil && (*g.Node < 0 || *g.Node > MaxSnowflakeNode) {
		p.add("global_ids.node", "want 0-%d, got %d", MaxSnowflakeNode, *g.Node)
	}
	if g.Node != nil || topo == nil {
		return
	}
	for i, ks := range topo.Keyspaces {
		for j, gen := range ks.Generators {
			if gen.Kind == shardmap.Snowflake {
				p.add("global_ids.node", "missing: topology.keyspaces[%d].generators[%d] (%s) is a snowflake generator, and each proxy needs its own node id (0-%d)",
					i, j, gen.Name, MaxSnowflakeNode)
				return
			}
		}
	}
}

// SnowflakeNode is the configured node id, or an error saying it is missing
// (the topology in the store may declare a snowflake generator the config
// file's topology does not).
func (g GlobalIDs) SnowflakeNode() (int, error) {
	if g.Node == nil {
		return 0, fmt.Errorf("global_ids.node is not set: a snowflake generator needs this proxy's node id (0-%d)", MaxSnowflakeNode)
	}
	return *g.Node, nil
}
