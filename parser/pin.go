package parser

// Pin says why a statement leaves state on its server session that
// outlives the transaction and that a proxy cannot replay on another
// connection. Under transaction pooling such a statement pins the client to
// its server connection (or is refused, with pin: deny).
type Pin uint8

const (
	PinNone         Pin = iota
	PinAdvisoryLock     // pg_advisory_lock… at session level; MySQL GET_LOCK
	PinSetConfig        // set_config(name, value, false): a session setting from inside a query
	PinTempObject       // CREATE TEMP TABLE / SEQUENCE / VIEW, SELECT … INTO TEMP
	PinListen           // LISTEN
	PinHoldCursor       // DECLARE … CURSOR WITH HOLD
	PinRole             // SET ROLE, SET SESSION AUTHORIZATION
	PinUserVariable     // MySQL user variables: SET @x, SELECT @x, … INTO @x
	PinTableLock        // MySQL LOCK TABLES (held until UNLOCK TABLES)
	PinSequence         // MariaDB NEXTVAL, SETVAL, LASTVAL: the session's last values of sequences
)

var pinNames = [...]string{"none", "session advisory lock", "set_config", "temporary object", "LISTEN", "WITH HOLD cursor", "SET ROLE / SESSION AUTHORIZATION", "user variable", "LOCK TABLES", "sequence value"}

func (p Pin) String() string {
	if int(p) < len(pinNames) {
		return pinNames[p]
	}
	return "unknown"
}

// Pins returns the pin of a statement or, for a multi-statement text, the
// first pin among its parts.
func (s *Statement) Pins() Pin {
	if s.Pin != PinNone || len(s.Parts) == 0 {
		return s.Pin
	}
	for _, p := range s.Parts {
		if p.Pin != PinNone {
			return p.Pin
		}
	}
	return PinNone
}
