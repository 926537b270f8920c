package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Record is a value stored under a key, with the version it was written at.
// Versions start at 1 and grow by one with every successful CompareAndSwap.
type Record struct {
	Key     string
	Version uint64
	Value   []byte // YAML
}

// Records is what a store backend provides.
type Records interface {
	// Get returns the record under key, or ErrNotFound.
	Get(ctx context.Context, key string) (Record, error)
	// CompareAndSwap writes value under key if the stored version is
	// version (0: the key must not exist yet) and returns the new record.
	// On a mismatch it returns ErrVersionConflict and changes nothing.
	CompareAndSwap(ctx context.Context, key string, version uint64, value []byte) (Record, error)
	// Watch sends the record under key now (if it exists) and after every
	// change, until ctx ends; then it closes the channel. A slow reader
	// may miss intermediate versions but always gets the newest.
	Watch(ctx context.Context, key string) (<-chan Record, error)
}

var (
	// ErrNotFound: no record under the key.
	ErrNotFound = errors.New("store: record not found")
	// ErrVersionConflict: the record changed since the version the caller read.
	ErrVersionConflict = errors.New("store: version conflict")
)

// Well-known keys.
const (
	KeyMap = "map"
)

// CheckKey validates a key: segments of lowercase letters, digits, '_', '-'
// and '.', joined by '/', none empty or a dot name, so a key is also a safe
// relative file path.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("store: empty key")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return fmt.Errorf("store: bad key %q", key)
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				return fmt.Errorf("store: bad key %q: only a-z, 0-9, '_', '-', '.' and '/'", key)
			}
		}
	}
	return nil
}
