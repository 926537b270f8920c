package failover

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/shardgate/shardgate/shardmap"
)

// repointConninfo returns a replica's primary_conninfo aimed at host:port
// (host may be a Unix socket folder) instead, every other setting (user,
// password, application_name, TLS) kept: the replica's replication login
// stays what its operator set, and failover never needs to know it.
// hostaddr goes, since it would win over host. Both libpq forms are
// understood: keyword/value and URI.
func repointConninfo(info, host string, port int) (string, error) {
	if strings.HasPrefix(info, "postgres://") || strings.HasPrefix(info, "postgresql://") {
		u, err := url.Parse(info)
		if err != nil {
			return "", fmt.Errorf("primary_conninfo is not a valid URI: %w", err)
		}
		q := u.Query()
		q.Del("hostaddr")
		q.Del("host")
		q.Del("port")
		if shardmap.SocketFolder(host) {
			// A Unix socket folder goes in the query, as libpq reads it.
			u.Host = ""
			q.Set("host", host)
			q.Set("port", strconv.Itoa(port))
		} else {
			u.Host = net.JoinHostPort(host, strconv.Itoa(port))
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	pairs, err := parseConninfo(info)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	write := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(quoteConninfo(v))
	}
	write("host", host)
	write("port", strconv.Itoa(port))
	for _, kv := range pairs {
		switch kv[0] {
		case "host", "port", "hostaddr":
			continue
		}
		write(kv[0], kv[1])
	}
	return b.String(), nil
}

// parseConninfo splits a libpq keyword/value string: key = value pairs,
// a value bare or in single quotes with backslash escapes.
func parseConninfo(s string) ([][2]string, error) {
	var out [][2]string
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[start:i]
		skip()
		if i >= len(s) || s[i] != '=' || key == "" {
			return nil, fmt.Errorf("primary_conninfo: missing '=' after %q", key)
		}
		i++
		skip()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					v.WriteByte(s[i])
					i++
					continue
				}
				if c == '\'' {
					closed = true
					break
				}
				v.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("primary_conninfo: unterminated quoted value of %s", key)
			}
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
				i++
			}
		}
		out = append(out, [2]string{key, v.String()})
	}
}

func quoteConninfo(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
