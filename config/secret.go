package config

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds a resolved secret (a backend password). It prints as
// [redacted] through fmt (every verb, %#v included), encoding/json, YAML,
// encoding.TextMarshaler and log/slog, so a config or an options struct that
// holds one can be logged whole. Only Reveal gives the value, at the one
// place that sends it to a server.
//
// The value sits behind a pointer so that even fmt's reflection over an
// unexported field holding a Secret prints an address, not the text.
type Secret struct{ p *string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{p: &s} }

// Reveal returns the secret's value ("" when unset).
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsSet reports whether a value was given (an empty one counts).
func (s Secret) IsSet() bool { return s.p != nil }

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) Format(f fmt.State, _ rune)   { fmt.Fprint(f, redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Secret) MarshalYAML() (any, error)    { return redacted, nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
