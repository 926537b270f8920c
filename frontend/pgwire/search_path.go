package pgwire

import "strings"

// Reading search_path as the server does. A SET gives it as a list of
// values, each one schema name exactly as written once unquoted (a string
// 'a, b' names one schema "a, b": search_path quotes each value; a bare
// word is lower-cased; a "quoted" identifier keeps its case); the router
// reads the same from the parse tree (router.setPath). A startup
// parameter gives it as one string the server splits as an identifier
// list (commas; unquoted names lower-cased).

// parseSearchPath reads the value text of a recorded SET search_path:
// "$user" is the session's user; DEFAULT (nil) the server's default. A
// path of no usable schema is empty, not nil.
func parseSearchPath(v, user string) []string {
	t := strings.TrimSpace(v)
	if strings.EqualFold(t, "default") {
		return nil // SET search_path TO DEFAULT: the server's default
	}
	out := []string{}
	for i := 0; i < len(t); {
		c := t[i]
		var name string
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			i++
			continue
		case c == '-' && i+1 < len(t) && t[i+1] == '-':
			i = len(t) // a comment to the end of the line (the text's end)
			continue
		case c == '/' && i+1 < len(t) && t[i+1] == '*':
			if end := strings.Index(t[i+2:], "*/"); end >= 0 {
				i += end + 4
			} else {
				i = len(t)
			}
			continue
		case c == '\'' || c == '"':
			var n int
			name, n = unquote(t[i:], c, false)
			i += n
		case (c == 'E' || c == 'e') && i+1 < len(t) && t[i+1] == '\'':
			var n int
			name, n = unquote(t[i+1:], '\'', true)
			i += 1 + n
		default:
			j := i
			for j < len(t) && !strings.ContainsRune(" \t\r\n,", rune(t[j])) {
				j++
			}
			name, i = strings.ToLower(t[i:j]), j
		}
		if name == "$user" {
			name = user
		}
		out = append(out, name)
	}
	return out
}

// unquote reads a quoted token at the start of s (quote q, doubled inside;
// backslash escapes when escapes is set) and returns its text and length.
func unquote(s string, q byte, escapes bool) (string, int) {
	var b strings.Builder
	for j := 1; j < len(s); j++ {
		switch {
		case escapes && s[j] == '\\' && j+1 < len(s):
			j++
			b.WriteByte(s[j])
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			b.WriteByte(q)
			j++
		case s[j] == q:
			return b.String(), j + 1
		default:
			b.WriteByte(s[j])
		}
	}
	return b.String(), len(s)
}

// startupPathSet is the SET that gives a session the search_path of a
// startup parameter (or `-c search_path=…`): the server splits the string
// as an identifier list; replayed as one quoted identifier per schema, so
// the SET leaves the same list.
func startupPathSet(v string) string {
	var names []string
	for _, part := range splitIdentList(v) {
		names = append(names, quoteIdent(part))
	}
	if len(names) == 0 {
		return "SET search_path = ''"
	}
	return "SET search_path = " + strings.Join(names, ", ")
}

// splitIdentList splits a string as Postgres' SplitIdentifierString with
// a comma: "quoted" names as written (doubled quotes inside), others
// trimmed and lower-cased.
func splitIdentList(v string) []string {
	var out []string
	t := strings.TrimSpace(v)
	for t != "" {
		var name string
		if t[0] == '"' {
			var n int
			name, n = unquote(t, '"', false)
			t = t[n:]
		} else {
			end := strings.IndexByte(t, ',')
			if end < 0 {
				end = len(t)
			}
			name, t = strings.ToLower(strings.TrimSpace(t[:end])), t[end:]
		}
		out = append(out, name)
		t = strings.TrimSpace(t)
		t = strings.TrimSpace(strings.TrimPrefix(t, ","))
	}
	return out
}

// pathKeyOf is a search_path as the key statements are prepared under:
// "" for the server's default (nil), never "" for a set path.
func pathKeyOf(path []string) string {
	if path == nil {
		return ""
	}
	return "\x01" + strings.Join(path, "\x00")
}
