// Package sandbox starts real, throw-away database clusters on loopback
// ports for integration tests, benchmarks and the demo command.
//
// It owns everything about running local Postgres and MariaDB servers:
// finding the binaries, creating data folders, picking free ports, starting
// the servers as direct child processes, wiring primaries to replicas,
// creating users and databases, waiting until every node is ready and caught
// up, and tearing it all down again so that no process or folder is left
// behind — also when a test binary is interrupted or killed.
//
// A cluster is Spec.Shards primaries, each with Spec.Replicas streaming
// replicas; a standalone instance is simply Spec{Shards: 1}. Start one with
// StartPostgres or StartMariaDB, stop it with Cluster.Stop. Packages whose
// integration tests share one cluster use Main from their TestMain.
//
// What is guaranteed after a start returns:
//   - every node accepts connections on 127.0.0.1 (never on ports 3306,
//     3307, 5432, 6432 or 9090, which belong to real servers and the demo);
//   - Spec.Users and Spec.Database exist on every primary and every replica;
//   - replicas are read-only to non-superusers and have replayed everything
//     their primary had written.
//
// Servers are run as children of the calling process with a parent-death
// signal, so a test binary that dies (even by SIGKILL) takes its servers with
// it. Folders of such runs are removed by the next start in the same temp
// folder. The package is Linux-first: elsewhere it builds, but that safety
// net and the leftover-process checks are missing.
//
// Dependencies: the standard library, pgx, go-sql-driver/mysql and
// golang.org/x/sync. This package must never import another shardgate
// package: everything else may use it in tests, so it sits below them all.
package sandbox
