package config

// LogLevel is the least severe level logged.
type LogLevel string

const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info" // the default
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)

func (l LogLevel) String() string { return string(l) }

// LogFormat is the log encoding.
type LogFormat string

const (
	LogJSON    LogFormat = "json" // one JSON object a line (the default)
	LogConsole LogFormat = "console"
)

func (f LogFormat) String() string { return string(f) }

// Logging configures the proxy's zap logger.
type Logging struct {
	Level  LogLevel  `yaml:"level,omitempty"`
	Format LogFormat `yaml:"format,omitempty"`
}

func (l *Logging) ensureDefaults() {
	setDefault(&l.Level, LogInfo)
	setDefault(&l.Format, LogJSON)
}

func (l *Logging) validate(p *problems) {
	oneOf(p, "logging.level", l.Level, LogDebug, LogInfo, LogWarn, LogError)
	oneOf(p, "logging.format", l.Format, LogJSON, LogConsole)
}
