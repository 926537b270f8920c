package twophase

import (
	"strconv"
	"strings"
)

// gidPrefix starts every transaction id shardgate prepares, so the
// resolver never touches another tool's prepared transactions.
const gidPrefix = "sg:"

// ID names one distributed transaction: its owner (a proxy incarnation)
// and a sequence number the owner never reuses. Each participant prepares
// it under its own Part name (a Postgres gid is unique per server, and two
// shards may share one).
type ID struct {
	Owner string
	Seq   uint64
}

// String is the decision log's key: "sg:<owner>:<seq>".
func (id ID) String() string {
	return gidPrefix + id.Owner + ":" + strconv.FormatUint(id.Seq, 10)
}

// Part is the gid participant i prepares under: "sg:<owner>:<seq>:<i>".
func (id ID) Part(i int) string { return id.String() + ":" + strconv.Itoa(i) }

// ParsePart reads a gid written by Part. Owners never contain ':' (proxy
// ids are letters, digits, '_', '-', '.').
func ParsePart(gid string) (ID, int, bool) {
	rest, ok := strings.CutPrefix(gid, gidPrefix)
	if !ok {
		return ID{}, 0, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return ID{}, 0, false
	}
	part, err := strconv.Atoi(rest[i+1:])
	if err != nil || part < 0 {
		return ID{}, 0, false
	}
	rest = rest[:i]
	j := strings.LastIndexByte(rest, ':')
	if j <= 0 {
		return ID{}, 0, false
	}
	seq, err := strconv.ParseUint(rest[j+1:], 10, 64)
	if err != nil {
		return ID{}, 0, false
	}
	return ID{Owner: rest[:j], Seq: seq}, part, true
}
