package pgwire

import "sync/atomic"

// Stats are the endpoint's counters. Sessions add to them with atomics;
// the metrics collector (admin) reads them when scraped.
type Stats struct {
	// Queries counts statement texts received: Query and Parse messages.
	// Every one is analysed, so it equals the analyzer's hits + misses.
	Queries atomic.Uint64
	// Routed counts executions routed to a server connection.
	Routed atomic.Uint64
	// Refused counts statements answered with an error raised by the
	// proxy (unroutable, unsupported, unparsable).
	Refused atomic.Uint64
	// Pins counts the times a session pinned a server connection under
	// transaction pooling (state that cannot be replayed).
	Pins atomic.Uint64
	// PipeJoins counts batches sent behind others' on a shared server
	// connection (pipes.go).
	PipeJoins atomic.Uint64
	// PipeVictims counts shared batches a cancel meant for the batch
	// before them ended, run again on a connection of their own.
	PipeVictims atomic.Uint64
	// PipeGiveUps counts shared batches whose turn did not come within
	// maxTurnWait, run again on a connection of their own.
	PipeGiveUps atomic.Uint64
	// PinnedSessions is how many sessions hold a pinned connection now.
	PinnedSessions atomic.Int64
	// Sessions is how many client sessions run now.
	Sessions atomic.Int64
	// Resets counts kept connections (pinned ones, and under session
	// pooling every one) cleaned (reset) before going back to the pool;
	// ResetFailures those closed instead.
	Resets        atomic.Uint64
	ResetFailures atomic.Uint64
	// SequenceResets counts DISCARD SEQUENCES sent before a session's
	// first statement on a connection another session left sequence
	// state on (session_sequences.go).
	SequenceResets atomic.Uint64
	// IdleBufferTakes counts sessions whose I/O buffers were taken back
	// after they had waited for their client for a while
	// (idle_buffers.go).
	IdleBufferTakes atomic.Uint64
	// SettingsReplays counts session settings replayed on a server
	// connection before a session's statement (it held another session's
	// settings); SettingsReplayFailures those the server refused (the
	// statement did not run).
	SettingsReplays        atomic.Uint64
	SettingsReplayFailures atomic.Uint64
	// TxJoins counts shards joined to a transaction already on another;
	// TxTwoPhase transactions committed on several shards; TxAborted those
	// rolled back while committing (a shard could not prepare, or a
	// resolver aborted them first); TxUnknown those whose commit decision
	// could not be written (the resolver settles them).
	TxJoins    atomic.Uint64
	TxTwoPhase atomic.Uint64
	TxAborted  atomic.Uint64
	TxUnknown  atomic.Uint64
	// ReplicaReads counts reads sent to a replica; ReplicaFallbacks reads
	// that could have gone to one but ran on the primary (none fit, or the
	// replica could not be reached); ReplicaRetries reads that failed on a
	// replica before any byte reached the client and ran again on the
	// primary.
	ReplicaReads     atomic.Uint64
	ReplicaFallbacks atomic.Uint64
	ReplicaRetries   atomic.Uint64
}
