// Package migrate will own online resharding workflows: plan, prepare, copy
// at a consistent snapshot, change-stream catch-up, verify, switch reads and
// writes with a short write pause, reverse replication, complete and cancel.
// Every step is idempotent, and the workflow state lives in the store so a
// crash of the proxy or the CLI resumes where it stopped.
//
// Status: empty; filled by the resharding issue.
//
// migrate imports shardmap, store and backend; never frontend, admin or cmd.
package migrate
