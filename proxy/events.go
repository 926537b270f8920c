package proxy

import (
	"time"

	"go.uber.org/zap"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/frontend/pgwire"
)

// LogEvents logs the endpoint's events with zap: the edge of the program,
// where logging belongs. Secrets never reach these callbacks.
func LogEvents(log *zap.Logger) Events {
	return Events{
		TwoPhase:  twoPhaseEvents(log),
		Deadlocks: deadlockEvents(log),
		Server: pgwire.EventListener{
			AuthFailed: func(i pgwire.AuthFailedInfo) {
				log.Warn("postgres authentication failed", zap.String("user", i.User), zap.Stringer("remote", i.RemoteAddr), zap.Bool("unknown_user", i.UnknownUser))
			},
		},
		Backend: backend.Listener{
			DialFailed: func(key backend.PoolKey, err error) {
				log.Warn("server connection failed", zap.String("node", key.Node), zap.Error(err))
			},
			AcquireTimedOut: func(key backend.PoolKey, waited time.Duration) {
				log.Warn("no server connection available", zap.String("node", key.Node), zap.Duration("waited", waited))
			},
		},
	}
}
