package pgsql

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Options configure an Analyzer.
type Options struct {
	// CacheEntries bounds the number of cached analyses (statement shapes).
	// 0 means the default, 10000; a negative value turns the cache off.
	CacheEntries int
	// MaxKeyBytes: a text whose shape key is longer is analysed without
	// the cache (a 1000-row INSERT is rarely repeated with the same row
	// count, and would crowd out the shapes that are). 0 means 64 KiB.
	MaxKeyBytes int
}

// EnsureDefaults fills unset options with their defaults.
func (o *Options) EnsureDefaults() {
	if o.CacheEntries == 0 {
		o.CacheEntries = 10000
	}
	if o.MaxKeyBytes <= 0 {
		o.MaxKeyBytes = 64 << 10
	}
}

// Analyzer analyses Postgres statements for the router. It is safe for
// concurrent use by every session; share one per proxy.
type Analyzer struct {
	opts  Options
	cache *parser.Cache // nil when caching is off
	keys  sync.Pool

	uncacheable atomic.Uint64
	errors      atomic.Uint64
}

// NewAnalyzer returns an Analyzer with its own cache.
func NewAnalyzer(opts Options) *Analyzer {
	opts.EnsureDefaults()
	a := &Analyzer{opts: opts}
	if opts.CacheEntries > 0 {
		a.cache = parser.NewCache(opts.CacheEntries)
	}
	a.keys.New = func() any { b := make([]byte, 0, 256); return &b }
	return a
}

// Stats are an Analyzer's counters since it was made.
type Stats struct {
	// Hits and Misses count cache lookups.
	Hits, Misses uint64
	// Uncacheable counts texts analysed by pg_query alone, never cached:
	// the lexer gave up on them (most are syntax errors), the lexer and
	// pg_query disagreed about their literals, or their key was too long.
	Uncacheable uint64
	// Errors counts texts rejected (syntax errors, NUL bytes).
	Errors uint64
	// Entries is the number of cached analyses now.
	Entries int
}

// Stats returns the Analyzer's counters.
func (a *Analyzer) Stats() Stats {
	s := Stats{Uncacheable: a.uncacheable.Load(), Errors: a.errors.Load()}
	if a.cache != nil {
		s.Hits, s.Misses, s.Entries = a.cache.Counts()
	}
	return s
}

// Analyze returns the analysis of sql — one statement, or several separated
// by semicolons (simple protocol) — and the literals of this text, in text
// order, appended to lits[:0]. The Statement is shared with every other
// text of the same shape and must not be modified; it refers to this text's
// values only through ValueRefs into the returned literals.
//
// sql may view a buffer the caller reuses once it is done with this text's
// statement (a session's read buffer): on a cache hit only the returned
// literals view it; a Statement built here (a miss, a text the cache does
// not take) views a copy, so the cache and a caller that keeps the
// Statement never see the buffer change.
//
// Errors are *sqlerr.Error: 42601 with pg_query's message for a text
// Postgres would not parse, whose cause is a *parser.PositionError with
// the 1-based character position pg_query reported (parser.ErrorPosition
// finds it); 22021 for a text that is not valid UTF-8 and 08P01 for one
// containing a NUL byte, which Postgres rejects before parsing.
func (a *Analyzer) Analyze(sql string, lits []parser.Literal) (*parser.Statement, []parser.Literal, error) {
	return a.AnalyzeMemo(sql, lits, nil)
}

// AnalyzeMemo is Analyze for a session that keeps m, its memory of the
// last shape it sent (parser.Memo); m may be nil.
func (a *Analyzer) AnalyzeMemo(sql string, lits []parser.Literal, m *parser.Memo) (*parser.Statement, []parser.Literal, error) {
	lits = lits[:0]
	if err := checkText(sql); err != nil {
		a.errors.Add(1)
		return nil, lits, err
	}
	if a.cache == nil {
		return a.uncached(strings.Clone(sql), lits)
	}
	kb := a.keys.Get().(*[]byte)
	defer a.putKeyBuffer(kb)
	lx := lexer{src: sql, key: (*kb)[:0], lits: lits}
	ok := lx.lex()
	*kb = lx.key
	if !ok || len(lx.key) > a.opts.MaxKeyBytes {
		return a.uncached(strings.Clone(sql), lx.lits[:0])
	}
	var st *parser.Statement
	if m != nil {
		st = a.cache.GetMemo(lx.key, m)
	} else {
		st = a.cache.Get(lx.key)
	}
	if st != nil && st.LiteralCount == len(lx.lits) {
		return st, lx.lits, nil
	}
	// A miss: what is built from here on is cached, and must not view the
	// caller's text. Lexed again over a copy (hints and literals point
	// into it); misses are rare, and pg_query's parse costs far more.
	sql = strings.Clone(sql)
	lx = lexer{src: sql, key: lx.key[:0], lits: lx.lits[:0]}
	if !lx.lex() {
		*kb = lx.key
		return a.uncached(sql, lx.lits[:0])
	}
	*kb = lx.key
	tree, err := parse(sql)
	if err != nil {
		a.errors.Add(1)
		return nil, lx.lits[:0], err
	}
	facts := collect(tree)
	consts, agree := lexerConsts(sql, lx.lits, facts.consts)
	if !agree {
		a.uncacheable.Add(1)
		st, refLits := buildReference(sql, tree, facts, lx.lits[:0])
		return st, refLits, nil
	}
	st = build(tree, facts, consts, len(lx.lits), lexerHints(sql, &lx))
	a.cache.Put(lx.key, st)
	return st, lx.lits, nil
}

// putKeyBuffer returns a key buffer to the pool, unless one huge text made
// it too big to keep around.
func (a *Analyzer) putKeyBuffer(kb *[]byte) {
	if cap(*kb) <= 2*a.opts.MaxKeyBytes {
		a.keys.Put(kb)
	}
}

// uncached analyses sql with pg_query alone.
func (a *Analyzer) uncached(sql string, lits []parser.Literal) (*parser.Statement, []parser.Literal, error) {
	tree, err := parse(sql)
	if err != nil {
		a.errors.Add(1)
		return nil, lits, err
	}
	a.uncacheable.Add(1)
	st, lits := buildReference(sql, tree, collect(tree), lits)
	return st, lits, nil
}

// checkText rejects what Postgres rejects before parsing: a NUL byte (the
// protocol's strings end at one) and text that is not UTF-8 (the server
// verifies the client encoding; pg_query's tree could not even carry it).
func checkText(sql string) error {
	if strings.IndexByte(sql, 0) >= 0 {
		return sqlerr.New(sqlerr.ProtocolViolation, "invalid string in message: the query text contains a NUL byte")
	}
	if utf8.ValidString(sql) {
		return nil
	}
	i := 0
	for i < len(sql) {
		r, n := utf8.DecodeRuneInString(sql[i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		i += n
	}
	return sqlerr.New(characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x%02x", sql[i])
}

// characterNotInRepertoire is Postgres' SQLSTATE for invalid encoding.
const characterNotInRepertoire = "22021"
