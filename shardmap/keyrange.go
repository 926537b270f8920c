package shardmap

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// KeyspaceID is the 64-bit position of a row in its keyspace. Vindexes map
// values to it; shards own half-open ranges of it.
type KeyspaceID uint64

// KeyRange is the half-open range [Start, End) of keyspace IDs. An End of 0
// means "unbounded" (up to and including the largest ID), since a range
// ending at 0 would be empty.
//
// The text form is Vitess' hex notation: the bounds are the leading bytes of
// the big-endian ID, trailing zero bytes dropped, with an empty side meaning
// unbounded: "-80", "40-80", "c0-", and "-" for the whole space.
type KeyRange struct {
	Start KeyspaceID
	End   KeyspaceID // 0 = unbounded
}

// FullRange is the whole keyspace-ID space.
var FullRange = KeyRange{}

// ParseKeyRange parses Vitess hex notation.
func ParseKeyRange(s string) (KeyRange, error) {
	if s == "-" || s == "0" {
		return FullRange, nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return KeyRange{}, fmt.Errorf("key range %q: want START-END in hex, like -80, 40-80 or c0-", s)
	}
	start, err := parseBound(lo)
	if err != nil {
		return KeyRange{}, fmt.Errorf("key range %q: start: %w", s, err)
	}
	end, err := parseBound(hi)
	if err != nil {
		return KeyRange{}, fmt.Errorf("key range %q: end: %w", s, err)
	}
	if hi != "" && end == 0 {
		return KeyRange{}, fmt.Errorf("key range %q: end 0 would make it empty", s)
	}
	r := KeyRange{Start: start, End: end}
	if r.End != 0 && r.End <= r.Start {
		return KeyRange{}, fmt.Errorf("key range %q: start must be below end", s)
	}
	return r, nil
}

// parseBound reads up to 8 bytes of hex as the leading bytes of an ID.
func parseBound(s string) (KeyspaceID, error) {
	if s == "" {
		return 0, nil
	}
	if len(s)%2 != 0 {
		return 0, fmt.Errorf("%q: want whole bytes (an even number of hex digits)", s)
	}
	if len(s) > 16 {
		return 0, fmt.Errorf("%q: longer than 8 bytes", s)
	}
	var buf [8]byte
	if _, err := hex.Decode(buf[:], []byte(s)); err != nil {
		return 0, fmt.Errorf("%q: not hex", s)
	}
	var v uint64
	for _, b := range buf {
		v = v<<8 | uint64(b)
	}
	return KeyspaceID(v), nil
}

func formatBound(id KeyspaceID) string {
	if id == 0 {
		return ""
	}
	n := 8 - bits.TrailingZeros64(uint64(id))/8
	var buf [8]byte
	for i := range buf {
		buf[i] = byte(uint64(id) >> (56 - 8*i))
	}
	return hex.EncodeToString(buf[:n])
}

// String formats the range in Vitess hex notation.
func (r KeyRange) String() string {
	if r == FullRange {
		return "-"
	}
	return formatBound(r.Start) + "-" + formatBound(r.End)
}

// Contains reports whether id lies in the range.
func (r KeyRange) Contains(id KeyspaceID) bool {
	return id >= r.Start && (r.End == 0 || id < r.End)
}

// last is the largest ID in the range (ranges are never empty).
func (r KeyRange) last() KeyspaceID {
	if r.End == 0 {
		return ^KeyspaceID(0)
	}
	return r.End - 1
}

// Intersect returns the overlap of two ranges and whether there is one.
func (r KeyRange) Intersect(o KeyRange) (KeyRange, bool) {
	start := max(r.Start, o.Start)
	last := min(r.last(), o.last())
	if start > last {
		return KeyRange{}, false
	}
	end := last + 1 // wraps to 0 = unbounded when last is the max ID
	return KeyRange{Start: start, End: end}, true
}

// Overlaps reports whether the ranges share an ID.
func (r KeyRange) Overlaps(o KeyRange) bool {
	_, ok := r.Intersect(o)
	return ok
}

// Split cuts the range into n equal parts (the last takes the remainder).
// Bounds fall on whole bytes when the range allows, as Vitess' notation
// prefers, e.g. "-" into 4 gives -40, 40-80, 80-c0, c0-.
func (r KeyRange) Split(n int) ([]KeyRange, error) {
	if n < 1 {
		return nil, fmt.Errorf("split into %d parts: need at least 1", n)
	}
	if n == 1 {
		return []KeyRange{r}, nil
	}
	// width = (last - start + 1) / n, computed without overflow.
	span := uint64(r.last() - r.Start) // span+1 IDs
	width := span/uint64(n) + (span%uint64(n)+1)/uint64(n)
	if width == 0 {
		return nil, fmt.Errorf("range %s is too small to split into %d parts", r, n)
	}
	out := make([]KeyRange, n)
	start := r.Start
	for i := range n {
		end := start + KeyspaceID(width)
		if i == n-1 {
			end = r.End
		}
		out[i] = KeyRange{Start: start, End: end}
		start = end
	}
	return out, nil
}

// CheckTiling reports whether ranges cover the whole keyspace-ID space with
// no gap and no overlap. The error names the first problem in ID order, by
// the ranges' positions in the argument.
func CheckTiling(ranges []KeyRange) error {
	if len(ranges) == 0 {
		return fmt.Errorf("no shards")
	}
	idx := make([]int, len(ranges))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ranges[idx[a]].Start < ranges[idx[b]].Start })
	first := ranges[idx[0]]
	if first.Start != 0 {
		return fmt.Errorf("gap: no shard covers %s", KeyRange{Start: 0, End: first.Start})
	}
	for k := 1; k < len(idx); k++ {
		prev, cur := ranges[idx[k-1]], ranges[idx[k]]
		switch {
		case prev.End == 0 || cur.Start < prev.End:
			return fmt.Errorf("overlap: shards %s and %s share IDs", prev, cur)
		case cur.Start > prev.End:
			return fmt.Errorf("gap: no shard covers %s", KeyRange{Start: prev.End, End: cur.Start})
		}
	}
	if last := ranges[idx[len(idx)-1]]; last.End != 0 {
		return fmt.Errorf("gap: no shard covers %s", KeyRange{Start: last.End})
	}
	return nil
}
