package backend

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// ControlConfig is the pgconn configuration of a control-plane connection
// (two-phase-commit resolution, heartbeats, probes): the same settings a
// pooled connection logs in with, and nothing from PG* variables or files.
func ControlConfig(o DialOptions) (*pgconn.Config, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return pgconnConfig(&o)
}

// ConnectControl opens a control-plane connection driven by pgconn.
func ConnectControl(ctx context.Context, o DialOptions) (*pgconn.PgConn, error) {
	cfg, err := ControlConfig(o)
	if err != nil {
		return nil, err
	}
	return pgconn.ConnectConfig(ctx, cfg)
}
