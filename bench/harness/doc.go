// Package harness owns what the benchmark programs under bench/ share: the
// processes they start (shardgate built from a source tree, PgBouncer, a
// relay), their ports and CPU time, and pgbench runs and what pgbench
// reports.
//
// It drives shardgate as a separate process, built with `go build`, so that
// a benchmark measures the binary users run and can read its CPU time from
// /proc; it must never import the serving packages (proxy, frontend,
// executor). Functions return errors; the programs decide to stop.
package harness
