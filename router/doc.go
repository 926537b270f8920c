// Package router owns the routing decision: Plan (Single, AnyShard and,
// later, Scatter, SplitInsert, Broadcast) and the pure function Route, which
// turns a statement's analysis, the values of one execution, the session's
// view and a shard-map snapshot into a Plan or a refusal. KeyRoute is a
// one-shard route reduced to its key value, for statements executed again
// and again; it gives Route's plan or steps aside.
//
// router is pure: no I/O, no clocks, no globals. It imports only parser,
// shardmap and internal/sqlerr. A refusal is a *sqlerr.Error with SQLSTATE
// 0A000 (or the coercion's own state) that says what to add.
package router
