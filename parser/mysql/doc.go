// Package mysql owns the analysis of MySQL / MariaDB statements for the
// router: it fills the same dialect-neutral parser.Statement that
// parser/pgsql fills for Postgres, so that router.Route routes a MySQL
// statement exactly as it routes a Postgres one. Its callers are the MySQL
// front end (COM_QUERY texts, possibly several statements; COM_STMT_PREPARE
// texts with ? parameters) and tests.
//
// The hot path never parses. vitess' tokenizer (the one its parser uses)
// walks the text once; the lexer takes out the literals ('…', "…", N'…',
// numbers, 0x…, X'…', 0b…, b'…'), decoded as MySQL decodes them with the
// default sql_mode (backslash escapes), and leaves a key: the text with
// each literal replaced by a marker of its lexical class. An Analyzer keeps
// the analyses of recent keys in a bounded CLOCK cache (parser.Cache, as
// parser/pgsql does); a hit costs the tokenizer pass and one map lookup.
//
// A miss parses, with vitess' sqlparser, not the client's text but a
// synthetic one made from the key: every literal is replaced by a literal
// of the same class whose value encodes its index (the n-th string becomes
// '\x00n', the n-th integer 1000000000+n, …; synthetic.go). The literals of
// the parse tree then say by themselves which literal of the text they are,
// whatever order the tree keeps them in (vitess' tree has no positions,
// and its walk visits LIMIT's offset before its count), and the analysis
// is a function of the key alone, so it may be cached and shared by every
// text of that shape. Before a synthetic text is trusted, it is lexed again
// and must give the same tokens as the original (literal values aside). A
// text for which any of this fails is analysed from its own parse tree,
// uncached, with every literal unknown to the router (FromExpr): such a
// statement is scattered or refused, never misrouted.
//
// MySQL-specific rules built in (see the files for details):
//   - ? parameters are numbered 1.. in text order and become FromParam,
//     like Postgres' $n; Placeholders counts them for COM_STMT_PREPARE.
//   - Column names are compared in lower case (MySQL's are
//     case-insensitive); table names and aliases as written (MariaDB on
//     Linux, lower_case_table_names=0). TableRef.Schema is the database
//     qualifier.
//   - 0x…, X'…' and bit literals are LiteralBitString: MySQL reads them as
//     numbers or as binary strings depending on context, so the router does
//     not route by them. A string with a character-set introducer other
//     than _utf8mb4/_utf8/_utf8mb3 carries the introducer as its Cast
//     (e.g. "_binary"), which the router does not route by either.
//   - MariaDB syntax vitess' grammar rejects but that must stay routable:
//     a RETURNING clause of INSERT/REPLACE/DELETE and a SET STATEMENT …
//     FOR prefix are blanked out for the analysis (lexer.go: offsets do
//     not move, the clause stays in the key); COMMIT/ROLLBACK AND [NO]
//     CHAIN / [NO] RELEASE, BEGIN WORK, SET ROLE and XA statements are
//     recognised by their tokens (control.go); DO's expressions are read
//     as a SELECT's; /*M!…*/ executable comments are read like /*!…*/,
//     and so are /*!NNNNNN…*/ comments with a 6-digit version (one MariaDB
//     does not run stays a comment); ODBC escapes ({d '…'}, {ts '…'},
//     { fn … }) are read as their expression (mariadb_syntax.go); LIMIT …
//     ROWS EXAMINED n is blanked out like RETURNING. Still rejected
//     (42000 / 1064): sequences (CREATE SEQUENCE, NEXT VALUE FOR),
//     GRANT/CREATE USER with 'user'@'host', HANDLER, SOUNDS LIKE, and
//     unquoted non-ASCII identifiers, which vitess' tokenizer does not
//     read. LOAD DATA is refused (0A000 / 1235): vitess keeps no table of
//     it.
//   - In a text of several statements, ? are numbered on through the
//     whole text (vitess numbers each statement's from 1).
//   - SplitInsertSQL cuts a multi-row INSERT for router.SplitInsert, and
//     SplitInList a key's IN list for router.InSplit; both keep the
//     client's text byte for byte elsewhere and name the client's ? each
//     cut text keeps (MySQL's are positional). RewriteScatter
//     rewrites a SELECT for several shards and gives its parser.Merge
//     (scatter*.go, docs/design/mysql-scatter.md).
//
// Assumptions a session must keep true (or refuse to change): sql_mode
// without NO_BACKSLASH_ESCAPES and without ANSI_QUOTES, and a client
// character set of utf8mb4 (or a subset of it).
//
// Errors are *sqlerr.Error: SQLSTATE 42000 with MySQL number 1064
// (ER_PARSE_ERROR) for text the grammar rejects.
//
// mysql imports parser, internal/sqlerr and vitess' sqlparser; nothing else
// of shardgate, no networking, and never pg_query. (Its tests also use
// router and shardmap, to route analyses, and sandbox with
// go-sql-driver/mysql, to hold the lexer to a real MariaDB.)
package mysql
