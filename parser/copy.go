package parser

// CopyFormat is the data format of a COPY.
type CopyFormat uint8

const (
	CopyText CopyFormat = iota
	CopyCSV
	CopyBinary
)

func (f CopyFormat) String() string {
	switch f {
	case CopyText:
		return "text"
	case CopyCSV:
		return "csv"
	case CopyBinary:
		return "binary"
	}
	return "unknown"
}

// CopyEndpoint says where the data of a COPY comes from or goes to.
type CopyEndpoint uint8

const (
	// CopyStdio: FROM STDIN or TO STDOUT, through the protocol.
	CopyStdio CopyEndpoint = iota
	// CopyFile: a file on the server's machine.
	CopyFile
	// CopyProgram: a program the server runs.
	CopyProgram
)

func (e CopyEndpoint) String() string {
	switch e {
	case CopyStdio:
		return "stdio"
	case CopyFile:
		return "file"
	case CopyProgram:
		return "program"
	}
	return "unknown"
}

// CopyOption is one option of a COPY as written, in either syntax (`WITH
// (FORMAT csv, HEADER)` or the old `WITH CSV HEADER`), the name lower
// case. Value is the option's argument as text ("" with HasValue false for
// a bare option such as HEADER); Columns holds the column list of
// FORCE_QUOTE / FORCE_NOT_NULL / FORCE_NULL, and Star is set for `*`.
type CopyOption struct {
	Name     string
	Value    string
	HasValue bool
	Columns  []string
	Star     bool
}

// CopyInfo describes a COPY statement: what a proxy needs to read the data
// of COPY … FROM STDIN itself (the table and its column list, the format
// and its options).
//
// Option values are strings in the text but never literals of the
// analysis: an analysis holding a CopyInfo with options is built from its
// own text, so the values are those of this text.
type CopyInfo struct {
	// Table is the target (or source) table; empty for COPY (query) TO.
	Table TableRef
	// Columns is the column list as written; nil when none is given
	// (then every column of the table but the generated ones, in order).
	Columns []string
	// From: COPY … FROM; else COPY … TO.
	From     bool
	Endpoint CopyEndpoint
	// Where: COPY … FROM … WHERE filters the rows on the server.
	Where bool
	// Format is the FORMAT option (text when none is given).
	Format CopyFormat
	// Options are every option as written, in order, FORMAT included.
	Options []CopyOption
}

// Option returns the last option named name (Postgres refuses repeats, so
// there is at most one in a valid statement).
func (c *CopyInfo) Option(name string) (CopyOption, bool) {
	for i := len(c.Options) - 1; i >= 0; i-- {
		if c.Options[i].Name == name {
			return c.Options[i], true
		}
	}
	return CopyOption{}, false
}
