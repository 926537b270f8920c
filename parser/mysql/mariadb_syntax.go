package mysql

import "strings"

// MariaDB syntax vitess' tokenizer or grammar does not read, rewritten for
// the analysis with every offset kept (the literals' offsets index the
// client's text):
//
//   - An executable comment with a 6-digit version, /*!NNNNNN … */ (as
//     mariadb-dump writes /*!100100 … */): MariaDB reads 6 digits when the
//     sixth is a digit, vitess only 5, leaving the sixth as a number in the
//     statement. A version MariaDB 10.11 runs has its digits blanked (a
//     plain /*! … */, which vitess runs); a later one becomes an ordinary
//     comment.
//   - ODBC escapes, { ident expr }: MariaDB reads them as expr, {d '…'},
//     {t '…'} and {ts '…'} of a string as a DATE, TIME or DATETIME
//     literal. The braces become parentheses and the ident blanks, which
//     is all the analysis needs (no key is routed by a date); where the
//     text is printed again (a scatter rewrite) odbcLiterals puts the
//     type back.
//
// A byte scan outside strings, quoted names and comments finds them; the
// text is copied only when one is found.

// mariadbSyntax applies both rewrites.
func mariadbSyntax(sql string) string {
	if !strings.Contains(sql, "/*!") && strings.IndexByte(sql, '{') < 0 {
		return sql
	}
	var b []byte
	set := func(i int, c byte) {
		if b == nil {
			b = []byte(sql)
		}
		b[i] = c
	}
	var open []int // '{' of the ODBC escapes being read
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(sql, i)
		case c == '#' || c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || sql[i+2] <= ' '):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				return done(sql, b)
			}
			i += j + 1
		case strings.HasPrefix(sql[i:], "/*!"):
			d := 0
			for d < 6 && i+3+d < len(sql) && sql[i+3+d] >= '0' && sql[i+3+d] <= '9' {
				d++
			}
			if d < 6 {
				i += 3 // a body vitess reads as SQL
				continue
			}
			if sql[i+3:i+9] <= mariadbVersion {
				for k := i + 3; k < i+9; k++ {
					set(k, ' ')
				}
				i += 9
				continue
			}
			set(i+2, ' ') // not run by the server: a comment
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return done(sql, b)
			}
			i += 2 + j + 2
		case strings.HasPrefix(sql[i:], "/*M!"):
			i += 4 // mariadbComments' business
		case strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return done(sql, b)
			}
			i += 2 + j + 2
		case c == '{':
			j := i + 1
			for j < len(sql) && (sql[j] == ' ' || sql[j] == '\t' || sql[j] == '\n' || sql[j] == '\r') {
				j++
			}
			k := j
			for k < len(sql) && (sql[k] == '_' || sql[k] >= 'a' && sql[k] <= 'z' || sql[k] >= 'A' && sql[k] <= 'Z' || sql[k] >= '0' && sql[k] <= '9') {
				k++
			}
			if k == j || k == len(sql) || sql[k] != ' ' && sql[k] != '\'' && sql[k] != '\t' && sql[k] != '\n' && sql[k] != '(' {
				i++ // not an ODBC escape: left to the grammar
				continue
			}
			set(i, '(')
			for p := i + 1; p < k; p++ {
				set(p, ' ')
			}
			open = append(open, i)
			i = k
		case c == '}' && len(open) > 0:
			set(i, ')')
			open = open[:len(open)-1]
			i++
		default:
			i++
		}
	}
	return done(sql, b)
}

func done(sql string, b []byte) string {
	if b == nil {
		return sql
	}
	return string(b)
}

// skipQuoted returns the offset after the string or quoted name starting
// at i: backslash escapes in strings (the default sql_mode), doubled
// quotes in all three.
func skipQuoted(sql string, i int) int {
	q := sql[i]
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(sql)
}

// odbcLiterals gives back, in a text printed again from a tree read through
// mariadbSyntax, the type of each {d|t|ts '…'} escape of the client's
// text: it returns the client's text with {d '…'} as DATE '…', {t '…'} as
// TIME '…' and {ts '…'} as TIMESTAMP '…' (offsets move), which vitess
// parses as typed literals and prints back as such. Other escapes become
// their expression in parentheses.
func odbcLiterals(sql string) string {
	if strings.IndexByte(sql, '{') < 0 {
		return sql
	}
	kept := mariadbSyntax(sql) // the escapes' braces became parentheses
	var b strings.Builder
	last := 0
	for i := 0; i < len(sql); i++ {
		if sql[i] != '{' || kept[i] != '(' {
			continue
		}
		j := i + 1
		for j < len(sql) && kept[j] == ' ' {
			j++
		}
		// The ident was blanked in kept: read it from the client's text.
		k := i + 1
		for k < len(sql) && (sql[k] == ' ' || sql[k] == '\t' || sql[k] == '\n' || sql[k] == '\r') {
			k++
		}
		e := k
		for e < len(sql) && sql[e] != ' ' && sql[e] != '\'' && sql[e] != '\t' && sql[e] != '\n' && sql[e] != '(' {
			e++
		}
		typ := ""
		switch strings.ToLower(sql[k:e]) {
		case "d":
			typ = "DATE "
		case "t":
			typ = "TIME "
		case "ts":
			typ = "TIMESTAMP "
		}
		b.WriteString(kept[last:i])
		b.WriteByte('(')
		if typ != "" && e < len(sql) && strings.HasPrefix(strings.TrimLeft(sql[e:], " \t\n\r"), "'") {
			b.WriteString(typ)
		}
		last = e
	}
	b.WriteString(kept[last:])
	return b.String()
}
