package shardmap

import (
	"strconv"
	"unsafe"
)

// unsafeBytes views a string's bytes without copying. Callers only read.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func formatInt(i int64) string { return strconv.FormatInt(i, 10) }
