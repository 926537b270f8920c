package shardmap

import "fmt"

// Engine is the database server family of a keyspace. It decides the SQL
// dialect and how a value is coerced to a column's type.
type Engine uint8

const (
	EngineUnknown Engine = iota
	Postgres
	MySQL
)

func (e Engine) String() string {
	switch e {
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "unknown"
}

// ParseEngine accepts "postgres" (or "postgresql") and "mysql" (or "mariadb").
func ParseEngine(s string) (Engine, error) {
	switch s {
	case "postgres", "postgresql":
		return Postgres, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return EngineUnknown, fmt.Errorf("unknown engine %q (want postgres or mysql)", s)
}

// MarshalText implements encoding.TextMarshaler (YAML uses it).
func (e Engine) MarshalText() ([]byte, error) {
	if e == EngineUnknown {
		return nil, fmt.Errorf("engine not set")
	}
	return []byte(e.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Engine) UnmarshalText(b []byte) error {
	v, err := ParseEngine(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}
