package mysql

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// Options configure an Analyzer.
type Options struct {
	// CacheEntries bounds the number of cached analyses (statement shapes).
	// 0 means the default, 10000; a negative value turns the cache off.
	CacheEntries int
	// MaxKeyBytes: a text whose key is longer is analysed without the
	// cache (a 1000-row INSERT is rarely repeated with the same row count).
	// 0 means 64 KiB.
	MaxKeyBytes int
	// ServerVersion is the version vitess' grammar assumes, which decides
	// the /*!NNNNN … */ comments it reads. "" means "99.99.99": MariaDB
	// 10.x runs every five-digit versioned comment, and vitess compares
	// versions as strings, so a real MariaDB version would make it skip them.
	ServerVersion string
}

// EnsureDefaults fills unset options with their defaults.
func (o *Options) EnsureDefaults() {
	if o.CacheEntries == 0 {
		o.CacheEntries = 10000
	}
	if o.MaxKeyBytes <= 0 {
		o.MaxKeyBytes = 64 << 10
	}
	if o.ServerVersion == "" {
		o.ServerVersion = "99.99.99"
	}
}

// Analyzer analyses MySQL statements for the router. It is safe for
// concurrent use by every session; share one per proxy.
type Analyzer struct {
	opts  Options
	p     *sqlparser.Parser
	cache *parser.Cache // nil when caching is off
	keys  sync.Pool

	uncacheable atomic.Uint64
	errors      atomic.Uint64
}

// NewAnalyzer returns an Analyzer with its own cache.
func NewAnalyzer(opts Options) (*Analyzer, error) {
	opts.EnsureDefaults()
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: opts.ServerVersion})
	if err != nil {
		return nil, err
	}
	a := &Analyzer{opts: opts, p: p}
	if opts.CacheEntries > 0 {
		a.cache = parser.NewCache(opts.CacheEntries)
	}
	a.keys.New = func() any { b := make([]byte, 0, 256); return &b }
	return a, nil
}

// Stats are an Analyzer's counters since it was made.
type Stats struct {
	// Hits and Misses count cache lookups.
	Hits, Misses uint64
	// Uncacheable counts texts analysed from their own tree, uncached,
	// with their literals unknown to the router (see doc.go).
	Uncacheable uint64
	// Errors counts texts rejected.
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
// by semicolons (COM_QUERY with multi-statements) — and the literals of this
// text, in text order, appended to lits[:0]. The Statement is shared with
// every other text of the same shape and must not be modified; it refers to
// this text's values only through ValueRefs into the returned literals and
// the ? parameters (FromParam, 1-based in text order).
//
// Errors are *sqlerr.Error: 42000 / 1064 for text vitess' grammar rejects
// (MariaDB-only syntax included, but for what doc.go lists), 0A000 / 1235
// for statements the analysis refuses.
//
// sql may view a buffer the caller reuses once the call and its use of the
// results are over (frontend/mysqlwire's direct commands): an analysis the
// cache keeps is made from a copy; a hit's literals view sql.
func (a *Analyzer) Analyze(sql string, lits []parser.Literal) (*parser.Statement, []parser.Literal, error) {
	lits = lits[:0]
	text := mariadbComments(a.p, sql)
	kb := a.keys.Get().(*[]byte)
	defer a.putKeyBuffer(kb)
	lx := lexer{p: a.p, src: text, key: (*kb)[:0], lits: lits}
	ok := lx.lex()
	*kb = lx.key
	if lx.named {
		a.errors.Add(1)
		return nil, lx.lits[:0], namedArgError()
	}
	if lx.slashes {
		a.errors.Add(1)
		return nil, lx.lits[:0], notSupported("shardgate cannot analyse // (its SQL parser reads a comment there, MariaDB a division): write / /*…*/ with a blank between")
	}
	if !ok {
		return a.missed(strings.Clone(text), lx.lits, false)
	}
	if lx.stmts == 0 {
		return &parser.Statement{Kind: parser.KindEmpty, Hint: parseHints(lx.hints), LiteralCount: len(lx.lits)}, lx.lits, nil
	}
	// A NUL byte outside the literals could pass for a literal's marker in
	// the key: such (rare) texts are not cached.
	if a.cache == nil || len(lx.key) > a.opts.MaxKeyBytes || strings.IndexByte(text, 0) >= 0 {
		return a.missed(strings.Clone(text), lx.lits, false)
	}
	if st := a.cache.Get(lx.key); st != nil && st.LiteralCount == len(lx.lits) {
		return st, lx.lits, nil
	}
	return a.missed(strings.Clone(text), lx.lits, true)
}

// missed analyses a text the cache could not serve. It lexes the text
// again, keeping the literals' places this time (the hot path does not:
// they are needed only here).
func (a *Analyzer) missed(text string, lits []parser.Literal, put bool) (*parser.Statement, []parser.Literal, error) {
	lx := &lexer{p: a.p, src: text, lits: lits[:0], keepSpans: true}
	if !lx.lex() {
		return a.uncached(text, lx.lits[:0], lx)
	}
	return a.analyzeMiss(text, lx, put)
}

// putKeyBuffer returns a key buffer to the pool, unless one huge text made
// it too big to keep around.
func (a *Analyzer) putKeyBuffer(kb *[]byte) {
	if cap(*kb) <= 2*a.opts.MaxKeyBytes {
		a.keys.Put(kb)
	}
}

// analyzeMiss analyses a lexed text through its synthetic text, and caches
// the analysis when put is set.
func (a *Analyzer) analyzeMiss(text string, lx *lexer, put bool) (*parser.Statement, []parser.Literal, error) {
	atext := blank(text, lx.blanks)
	syn := synthetic(atext, lx.spans)
	st, ok, err := a.fromSynthetic(atext, syn, lx)
	if err != nil {
		a.errors.Add(1)
		return nil, lx.lits[:0], err
	}
	if !ok {
		return a.uncached(text, lx.lits, lx)
	}
	if put {
		a.cache.Put(lx.key, st)
	}
	return st, lx.lits, nil
}

// fromSynthetic parses the synthetic text and builds the analysis, if the
// synthetic text reads as the original does.
func (a *Analyzer) fromSynthetic(atext, syn string, lx *lexer) (*parser.Statement, bool, error) {
	trees, err := a.parse(syn)
	if err != nil {
		return nil, false, nil
	}
	orig := lexer{p: a.p, src: atext, record: true}
	again := lexer{p: a.p, src: syn, record: true}
	if !orig.lex() || !again.lex() || !sameTokens(orig.toks, again.toks) {
		return nil, false, nil
	}
	m, ok := mapLiterals(trees, lx.spans)
	if !ok {
		return nil, false, nil
	}
	st, err := build(trees, m, len(lx.lits), parseHints(lx.hints))
	if err != nil {
		return nil, false, err
	}
	// A blanked RETURNING clause may hold ? parameters of its own.
	st.ParamCount = max(st.ParamCount, lx.params)
	return st, true, nil
}

// uncached analyses text from its own tree: its literals are not tied to
// the tree (every value the router would read is FromExpr), so the
// statement is scattered or refused rather than misrouted. lits are the
// lexer's literals when it read the text, else none.
func (a *Analyzer) uncached(text string, lits []parser.Literal, lx *lexer) (*parser.Statement, []parser.Literal, error) {
	atext := blank(text, lx.blanks)
	trees, err := a.parse(atext)
	if err != nil {
		a.errors.Add(1)
		if lx.errNear != "" {
			return nil, lits[:0], lexError(lx.errNear)
		}
		return nil, lits[:0], err
	}
	st, err := build(trees, nil, len(lits), parseHints(lx.hints))
	if err != nil {
		a.errors.Add(1)
		return nil, lits[:0], err
	}
	st.ParamCount = max(st.ParamCount, lx.params)
	a.uncacheable.Add(1)
	return st, lits, nil
}

// parse parses one statement or several; a statement vitess' grammar
// rejects may still be a transaction-control statement it does not know
// (control.go).
func (a *Analyzer) parse(text string) (trees []tree, err error) {
	defer func() {
		// vitess' parser is not ours and is reached by any client's text:
		// a panic in it fails the statement, not the proxy.
		if r := recover(); r != nil {
			trees, err = nil, parseError(fmt.Errorf("the parser failed on this text: %v", r))
		}
	}()
	pieces, err := a.split(text)
	if err != nil {
		return nil, err
	}
	trees = make([]tree, 0, len(pieces))
	base := 0
	for _, piece := range pieces {
		if strings.TrimSpace(piece) == "" {
			continue
		}
		t, ok, err := a.parsePiece(piece)
		if err != nil {
			return nil, err
		}
		if ok {
			t.paramBase = base
			trees = append(trees, t)
		}
		if len(pieces) > 1 {
			q, _ := Placeholders(piece)
			base += q
		}
	}
	return trees, nil
}

// parsePiece parses one statement; ok=false for one that is only
// comments.
func (a *Analyzer) parsePiece(piece string) (tree, bool, error) {
	if rest, ok := a.doStatement(piece); ok {
		// DO expr, …: vitess keeps nothing of it; its expressions are
		// read as a SELECT's (GET_LOCK pins, volatility).
		sel, err := a.p.Parse("SELECT " + rest)
		if err != nil {
			return tree{}, false, parseError(err)
		}
		return tree{stmt: sel, do: true}, true, nil
	}
	t, err := a.p.Parse(piece)
	if err == nil {
		return tree{stmt: t}, true, nil
	}
	if c, ok := a.control(piece); ok {
		return tree{ctl: c}, true, nil
	}
	if err == sqlparser.ErrEmpty {
		return tree{}, false, nil
	}
	return tree{}, false, parseError(err)
}

// doStatement returns what follows DO in a DO statement.
func (a *Analyzer) doStatement(piece string) (string, bool) {
	tkn := a.p.NewStringTokenizer(piece)
	for {
		typ, _ := tkn.Scan()
		switch typ {
		case sqlparser.COMMENT:
			continue
		case sqlparser.DO:
			return piece[tkn.Pos:], true
		}
		return "", false
	}
}

// split cuts a text into its statements at the semicolons the tokenizer
// sees (vitess' SplitStatementToPieces panics on an unterminated string).
func (a *Analyzer) split(text string) ([]string, error) {
	if strings.IndexByte(text, ';') < 0 {
		return []string{text}, nil
	}
	var pieces []string
	tkn := a.p.NewStringTokenizer(text)
	begin := 0
	for {
		typ, val := tkn.Scan()
		switch typ {
		case sqlparser.LEX_ERROR:
			return nil, lexError(val)
		case ';':
			pieces = append(pieces, text[begin:tkn.Pos-1])
			begin = tkn.Pos
		case 0:
			return append(pieces, text[begin:]), nil
		}
	}
}

// blank replaces the spans of text with spaces (byte offsets stay).
func blank(text string, spans []span) string {
	if len(spans) == 0 {
		return text
	}
	b := []byte(text)
	for _, sp := range spans {
		for i := sp.start; i < sp.end; i++ {
			b[i] = ' '
		}
	}
	return string(b)
}
