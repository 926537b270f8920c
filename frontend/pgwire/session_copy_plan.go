package pgwire

import (
	"encoding/binary"
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// COPY … FROM: routing the COPY, its columns, format and encoding.

// copyPlan routes the COPY and reads its options. Without a column list,
// the table's columns come from a shard's catalog (without generated
// columns, which COPY skips too).
func (s *session) copyPlan(stmt *parser.Statement) (router.CopyTarget, copyFormat, error) {
	if stmt.Copy == nil {
		return router.CopyTarget{}, copyFormat{}, sqlerr.New(sqlerr.InternalError, "COPY without its analysis")
	}
	s.rs.TxShard = nil
	if s.txLink != nil {
		s.rs.TxShard = s.txLink.shard
	}
	snap := s.opts.Snapshot()
	cols := stmt.Copy.Columns
	var colErr error
	s.rs.Columns = func(schema, table string) ([]string, bool) {
		c, err := s.copyColumns(snap, schema, table)
		if err != nil || c == nil {
			colErr = err
			return nil, false
		}
		cols = c
		return c, true
	}
	target, err := router.RouteCopy(stmt, &s.rs, snap)
	s.rs.Columns = nil
	if colErr != nil {
		return target, copyFormat{}, colErr
	}
	if err != nil {
		return target, copyFormat{}, err
	}
	if target.Fixed != nil {
		return target, copyFormat{format: stmt.Copy.Format}, nil
	}
	f, err := newCopyFormat(stmt.Copy, cols, target.Key)
	if err != nil {
		return target, f, err
	}
	if _, given := stmt.Copy.Option("encoding"); !given && f.format != parser.CopyBinary {
		// ENCODING, when given, was checked to be UTF-8.
		err = checkCopyEncoding(s.clientEncoding(), target.Table.Type() == shardmap.TypeText)
	}
	return target, f, err
}

// clientEncoding is the session's client_encoding as its settings say
// ("" when they do not name it: the server's default, UTF8 here).
func (s *session) clientEncoding() string {
	enc := ""
	for _, set := range append(s.settings[:len(s.settings):len(s.settings)], s.txSets...) {
		words := strings.Fields(stripLeadingComments(set))
		if len(words) < 2 || !strings.EqualFold(words[0], "SET") {
			continue
		}
		rest := words[1:]
		if strings.EqualFold(rest[0], "SESSION") && len(rest) > 1 {
			rest = rest[1:]
		}
		if strings.EqualFold(rest[0], "NAMES") {
			rest = append([]string{"client_encoding", "="}, rest[1:]...)
		}
		if name, value := splitSet(strings.Join(rest, " ")); name == "client_encoding" {
			enc = strings.Trim(value, `'"`)
		}
	}
	return enc
}

// checkCopyEncoding refuses data the proxy cannot read right: it splits
// rows as ASCII (wrong for encodings whose multibyte characters hold ASCII
// bytes, such as SJIS) and hashes text keys as UTF-8.
func checkCopyEncoding(enc string, textKey bool) error {
	norm := strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(enc))
	switch norm {
	case "", "UTF8", "UNICODE", "DEFAULT":
		return nil
	case "SJIS", "SHIFTJIS", "SHIFTJIS2004", "MSKANJI", "WIN932", "BIG5", "WIN950", "GBK", "WIN936", "UHC", "WIN949", "GB18030", "JOHAB":
		return sqlerr.New(sqlerr.FeatureNotSupported, "COPY … FROM with client_encoding %s is not supported through shardgate", enc).
			WithHint("shardgate reads the rows to route them; send them as UTF-8 (SET client_encoding TO 'UTF8', or COPY … WITH (ENCODING 'UTF8')).")
	}
	if textKey {
		return sqlerr.New(sqlerr.FeatureNotSupported, "COPY … FROM with client_encoding %s into a table sharded by a text column is not supported through shardgate", enc).
			WithHint("shardgate routes text keys by their UTF-8 bytes; send the rows as UTF-8 (SET client_encoding TO 'UTF8').")
	}
	return nil
}

// copyColumns reads the columns COPY fills when it names none.
func (s *session) copyColumns(snap *shardmap.Snapshot, schema, table string) ([]string, error) {
	ks, ok := snap.Keyspace(shardmap.Postgres, s.c.Database)
	if !ok || s.opts.catalog == nil {
		return nil, nil
	}
	rel := quoteIdent(table)
	if schema != "" {
		rel = quoteIdent(schema) + "." + rel
	}
	q := "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = " + quoteLiteral(rel) +
		"::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"
	if schema == "" {
		q = underSearchPath(q, s.rs.SearchPath)
	}
	return s.opts.catalog.query(s.ctx, s.anyShard(ks), q, rel)
}

// copyInResponse is the body of a CopyInResponse: the overall format and
// each column's.
func copyInResponse(f parser.CopyFormat, columns int) []byte {
	var code byte
	if f == parser.CopyBinary {
		code = 1
	}
	b := make([]byte, 0, 3+2*columns)
	b = append(b, code)
	b = binary.BigEndian.AppendUint16(b, uint16(columns))
	for i := 0; i < columns; i++ {
		b = binary.BigEndian.AppendUint16(b, uint16(code))
	}
	return b
}
