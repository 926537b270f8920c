// Package router will own Plan (Single, Scatter, SplitInsert, Broadcast and
// refusals, each with a String for EXPLAIN ROUTE and logs) and the pure
// function Route(stmt, params, session, snapshot) → Plan.
//
// Status: empty; filled by the Postgres endpoint issue.
//
// router is pure: no I/O, no clocks, no globals. It imports only parser,
// shardmap and internal/sqlerr.
package router
