// Package replicas will own node health and lag: probes, heartbeat-based
// time lag and replay positions, circuit breakers, the balancer that picks a
// replica for a read, read-your-writes tracking and failover following. It
// publishes immutable health snapshots for the router.
//
// Status: empty; filled by the replica reads issue.
//
// replicas never imports router, executor, frontend, admin or cmd.
package replicas
