package pgwire

import (
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/router"
)

// errScatterNotYet refuses a read the router would scatter, until the
// session runs scatter plans (docs/design/cross-shard.md).
func errScatterNotYet(p router.Scatter) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "this SELECT needs every shard (%s); cross-shard reads are not supported yet", p.Why.String()).
		WithHint("Give one sharding key value (WHERE key = … or key IN (…) with keys of one shard).")
}
