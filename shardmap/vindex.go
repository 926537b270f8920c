package shardmap

import (
	"fmt"
	"sort"
)

// Vindex maps a key, already coerced to its column's type, to a keyspace ID.
// Implementations are pure and safe for concurrent use.
type Vindex interface {
	// Name is the vindex's name in the map ("hash", "range").
	Name() string
	// Supports reports whether the vindex can map keys of type t.
	Supports(t ColumnType) bool
	// KeyspaceID maps k; k's type is one Supports accepted.
	KeyspaceID(k Key) KeyspaceID
	// OrderPreserving reports whether value order is keyspace-ID order, so
	// that ranges of values are ranges of IDs.
	OrderPreserving() bool
}

// LookupVindex returns the vindex registered under name. The registry is a
// fixed table, not mutable state: a new vindex is added here, in code.
func LookupVindex(name string) (Vindex, bool) {
	switch name {
	case "hash":
		return Hash{}, true
	case "range":
		return Range{}, true
	}
	return nil, false
}

// VindexNames lists the registered vindexes, for error messages.
func VindexNames() []string {
	names := []string{"hash", "range"}
	sort.Strings(names)
	return names
}

func unknownVindex(name string) error {
	return fmt.Errorf("unknown vindex %q (have %v)", name, VindexNames())
}
