package twophase

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The decision log lives on the keyspace's coordinator shard (its first
// shard). A row is written before the second phase: present with
// 'commit', the transaction commits everywhere; absent, it never will —
// the resolver writes 'abort' first, under the same primary key, so an
// owner that comes back late learns it lost instead of committing.
const (
	createLog = `CREATE TABLE IF NOT EXISTS public.shardgate_2pc (
	gid        text PRIMARY KEY,
	decision   text NOT NULL CHECK (decision IN ('commit', 'abort')),
	owner      text NOT NULL,
	decided_at timestamptz NOT NULL DEFAULT now())`
	createLease = `CREATE TABLE IF NOT EXISTS public.shardgate_2pc_lease (
	owner      text PRIMARY KEY,
	expires_at timestamptz NOT NULL)`

	// The owner's commit is fenced by its lease: an owner whose lease
	// expired (it stalled, and resolvers may have aborted its
	// transactions and collected those rows since) can never decide
	// commit. The division fails (22012) when no live lease row exists;
	// count(*) keeps it from being folded at plan time.
	insertCommit = `INSERT INTO public.shardgate_2pc (gid, decision, owner) SELECT $1, 'commit', $2
	WHERE (SELECT 1 / count(*) FROM public.shardgate_2pc_lease WHERE owner = $2 AND expires_at > now()) = 1
	ON CONFLICT (gid) DO NOTHING`
	insertAbort  = `INSERT INTO public.shardgate_2pc (gid, decision, owner) VALUES ($1, 'abort', $2) ON CONFLICT (gid) DO NOTHING`
	readDecision = `SELECT decision FROM public.shardgate_2pc WHERE gid = $1`
	forgetDone   = `DELETE FROM public.shardgate_2pc WHERE gid = ANY($1)`
	// Rows of transactions no participant holds any more, once they are
	// old enough that no owner can still be between its two phases.
	collectLog = `DELETE FROM public.shardgate_2pc WHERE decided_at < now() - $1::interval AND gid <> ALL($2)`

	// A lease is renewed only while it is live: an expired one stays
	// expired (the incarnation is dead; the proxy takes a new name).
	renewLease = `INSERT INTO public.shardgate_2pc_lease (owner, expires_at) VALUES ($1, now() + $2::interval)
	ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at WHERE shardgate_2pc_lease.expires_at > now()`
	liveOwners   = `SELECT owner FROM public.shardgate_2pc_lease WHERE expires_at > now()`
	collectLease = `DELETE FROM public.shardgate_2pc_lease WHERE expires_at < now() - interval '1 day'`
	dropLease    = `DELETE FROM public.shardgate_2pc_lease WHERE owner = $1`

	listPrepared = `SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE 'sg:%'`
)

// Decision is the fate of a distributed transaction.
type Decision uint8

const (
	Commit Decision = iota + 1
	Abort
)

func (d Decision) String() string {
	switch d {
	case Commit:
		return "commit"
	case Abort:
		return "abort"
	}
	return "unknown"
}

func parseDecision(s string) (Decision, error) {
	switch s {
	case "commit":
		return Commit, nil
	case "abort":
		return Abort, nil
	}
	return 0, fmt.Errorf("twophase: unknown decision %q in the log", s)
}

// querier is what the log needs of a pool or a connection.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// record writes want for id unless a decision is there already, and
// returns the decision that holds.
func record(ctx context.Context, q querier, id ID, owner string, want Decision) (Decision, error) {
	sql := insertCommit
	if want == Abort {
		sql = insertAbort
	}
	tag, err := q.Exec(ctx, sql, id.String(), owner)
	if err != nil {
		if isFenced(err) {
			return Abort, nil // the owner's lease expired: it may not commit
		}
		return 0, err
	}
	if tag.RowsAffected() == 1 {
		return want, nil
	}
	var s string
	if err := q.QueryRow(ctx, readDecision, id.String()).Scan(&s); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			if want == Commit {
				// Not inserted and not there: the fence held (no live
				// lease), so this owner may not commit.
				return Abort, nil
			}
			// Written and collected: only a finished transaction's row
			// is collected, and only long after. Never guess.
			return 0, fmt.Errorf("twophase: decision for %s vanished", id)
		}
		return 0, err
	}
	return parseDecision(s)
}

// isUndefinedObject: COMMIT/ROLLBACK PREPARED of a gid that does not exist.
func isUndefinedObject(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42704"
}

// isFenced: the commit fence found no live lease.
func isFenced(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && IsFenced(pe.Code)
}

// IsFenced reports whether a server error code is the commit fence's
// (DecisionSQL): the owner's lease expired, so it may not decide commit.
func IsFenced(code string) bool { return code == "22012" }
