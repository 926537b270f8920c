package backend

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// PgConnConfig returns the pgconn configuration Dial would use for o (after
// EnsureDefaults and Validate on a copy), for callers that keep a pgconn
// connection driven by pgconn itself, such as the replica monitor's control
// connections. Like Dial's, it takes nothing from PG* environment variables
// or files under the home folder. The result is the caller's to change.
func PgConnConfig(o DialOptions) (*pgconn.Config, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("backend: connection settings for %s: %w", o.Node, err)
	}
	return pgconnConfig(&o)
}
