package globalid

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/shardmap"
)

// SequenceTable holds one counter row per sequence generator, on the
// keyspace's first shard: next_value is the first value no block has
// taken yet.
const SequenceTable = "public.shardgate_sequences"

// createSequenceTable is idempotent.
const createSequenceTable = `CREATE TABLE IF NOT EXISTS public.shardgate_sequences (
	name text PRIMARY KEY,
	next_value bigint NOT NULL
)`

// takeBlock takes values [first, first+n) in one round trip. The row lock
// of the upsert orders concurrent takers (goroutines or proxies), so two
// blocks never overlap; the first block of a sequence starts at 1.
const takeBlock = `INSERT INTO public.shardgate_sequences AS s (name, next_value) VALUES ($1, 1 + $2::bigint)
ON CONFLICT (name) DO UPDATE SET next_value = s.next_value + $2::bigint
RETURNING next_value - $2::bigint`

// raiseSequence makes sure no future block starts at or below min.
const raiseSequence = `INSERT INTO public.shardgate_sequences AS s (name, next_value) VALUES ($1, $2::bigint + 1)
ON CONFLICT (name) DO UPDATE SET next_value = greatest(s.next_value, $2::bigint + 1)`

// Queryer runs one statement: *pgx.Conn, *pgxpool.Pool and pgx.Tx are
// Queryers. A Sequence runs one statement at a time on it, outside any
// client transaction: a block must be committed before its values are
// handed out, or a rolled-back block would be handed out twice.
type Queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EnsureSequenceTable creates SequenceTable if it does not exist. Run it on
// the keyspace's first shard before the first block is taken.
func EnsureSequenceTable(ctx context.Context, db Queryer) error {
	if _, err := db.Exec(ctx, createSequenceTable); err != nil {
		return fmt.Errorf("globalid: creating %s: %w", SequenceTable, err)
	}
	return nil
}

// RaiseSequence makes every future block of the named sequence start above
// min (for a table that already holds IDs up to min). It never lowers it.
func RaiseSequence(ctx context.Context, db Queryer, name string, min int64) error {
	if _, err := db.Exec(ctx, raiseSequence, name, min); err != nil {
		return fmt.Errorf("globalid: raising sequence %q: %w", name, err)
	}
	return nil
}

// DefaultFetchTimeout bounds one block's round trip.
const DefaultFetchTimeout = 10 * time.Second

// SequenceOptions configure a Sequence.
type SequenceOptions struct {
	Name  string // the generator's name: its row in SequenceTable
	Block int64  // values per round trip (shardmap.DefaultBlock if 0)
	DB    Queryer
	// FetchTimeout bounds one block's round trip (DefaultFetchTimeout if 0).
	FetchTimeout time.Duration
}

// Sequence hands out values from blocks taken from SequenceTable. Safe for
// concurrent use. It owns the goroutine that fetches the next block
// (started when half of the current block is used); Close waits for it.
type Sequence struct {
	name    string
	block   int64
	db      Queryer
	timeout time.Duration

	ctx    context.Context // ends with Close; fetches run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	cur, end int64  // the current block's values not handed out: [cur, end)
	fetch    *fetch // the next block, in flight or arrived; nil if none
}

// fetch is one block's round trip.
type fetch struct {
	done  chan struct{}
	first int64
	err   error
}

// NewSequence returns a Sequence; it takes its first block on the first
// Next.
func NewSequence(opts SequenceOptions) (*Sequence, error) {
	if opts.Name == "" || opts.DB == nil {
		return nil, fmt.Errorf("globalid: a sequence needs a name and a database")
	}
	if opts.Block == 0 {
		opts.Block = shardmap.DefaultBlock
	}
	if opts.Block < 1 {
		return nil, fmt.Errorf("globalid: sequence %q: block %d: want at least 1", opts.Name, opts.Block)
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sequence{name: opts.Name, block: opts.Block, db: opts.DB, timeout: opts.FetchTimeout, ctx: ctx, cancel: cancel}, nil
}

// Next returns n values. It waits for a block only when the current one is
// used up and the prefetched one has not arrived.
func (s *Sequence) Next(ctx context.Context, n int) ([]int64, error) {
	out := make([]int64, 0, n)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(out) < n {
		if s.cur < s.end {
			k := min(int64(n-len(out)), s.end-s.cur)
			for i := int64(0); i < k; i++ {
				out = append(out, s.cur+i)
			}
			s.cur += k
			continue
		}
		f := s.fetch
		if f == nil {
			f = s.startFetch()
		}
		s.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
		}
		s.mu.Lock()
		if err := ctx.Err(); err != nil {
			return nil, err // values taken so far become a gap
		}
		if s.fetch != f {
			continue // another caller installed it (or dropped it)
		}
		s.fetch = nil
		if f.err != nil {
			return nil, f.err
		}
		s.cur, s.end = f.first, f.first+s.block
	}
	if s.fetch == nil && s.end-s.cur <= s.block/2 {
		s.startFetch() // prefetch: the next block arrives before this one runs out
	}
	return out, nil
}

// startFetch starts taking the next block; s.mu is held.
func (s *Sequence) startFetch() *fetch {
	f := &fetch{done: make(chan struct{})}
	s.fetch = f
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(f.done)
		ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
		defer cancel()
		if err := s.db.QueryRow(ctx, takeBlock, s.name, s.block).Scan(&f.first); err != nil {
			f.err = fmt.Errorf("globalid: taking a block of sequence %q: %w", s.name, err)
		}
	}()
	return f
}

// Close stops a fetch in flight and waits for it. Values not handed out
// are lost (a gap).
func (s *Sequence) Close() {
	s.cancel()
	s.wg.Wait()
}
