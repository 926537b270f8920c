package sqlerr

// SQLSTATE codes used by shardgate. Names follow Postgres' errcodes.txt.
const (
	FeatureNotSupported          = "0A000"
	InvalidTextRepresentation    = "22P02"
	InvalidBinaryRepresentation  = "22P03"
	NumericValueOutOfRange       = "22003"
	NullValueNotAllowed          = "22004"
	NotNullViolation             = "23502"
	InFailedSQLTransaction       = "25P02"
	ReadOnlySQLTransaction       = "25006"
	InvalidAuthorizationSpec     = "28000"
	InvalidPassword              = "28P01"
	SyntaxError                  = "42601"
	UndefinedFunction            = "42883"
	UndefinedTable               = "42P01"
	ProtocolViolation            = "08P01"
	ConnectionFailure            = "08006"
	TooManyConnections           = "53300"
	OutOfMemory                  = "53200"
	QueryCanceled                = "57014"
	AdminShutdown                = "57P01"
	CannotConnectNow             = "57P03"
	InternalError                = "XX000"
	ConfigurationLimitExceeded   = "53400"
	ObjectNotInPrerequisiteState = "55000"
	InvalidParameterValue        = "22023"
	UndefinedObject              = "42704"
)

// MySQL error numbers (see MariaDB's include/mysqld_error.h).
const (
	erUnknownError            = 1105
	erNotSupportedYet         = 1235
	erTruncatedWrongValue     = 1292
	erWarnDataOutOfRange      = 1264
	erBadNullError            = 1048
	erParseError              = 1064
	erAccessDenied            = 1045
	erNoSuchTable             = 1146
	erTooManyConnections      = 1040
	erQueryInterrupted        = 1317
	erServerShutdown          = 1053
	erOptionPreventsStatement = 1290
	erSPDoesNotExist          = 1305
	erNetErrorOnRead          = 1158
	erOutOfResources          = 1041
	erXAERRMFail              = 1399
	erIncorrectValue          = 1366
)

var numbers = map[string]uint16{
	FeatureNotSupported:          erNotSupportedYet,
	InvalidTextRepresentation:    erIncorrectValue,
	InvalidBinaryRepresentation:  erTruncatedWrongValue,
	NumericValueOutOfRange:       erWarnDataOutOfRange,
	NullValueNotAllowed:          erBadNullError,
	NotNullViolation:             erBadNullError,
	InFailedSQLTransaction:       erXAERRMFail,
	ReadOnlySQLTransaction:       erOptionPreventsStatement,
	InvalidAuthorizationSpec:     erAccessDenied,
	InvalidPassword:              erAccessDenied,
	SyntaxError:                  erParseError,
	UndefinedFunction:            erSPDoesNotExist,
	UndefinedTable:               erNoSuchTable,
	ProtocolViolation:            erNetErrorOnRead,
	ConnectionFailure:            erNetErrorOnRead,
	TooManyConnections:           erTooManyConnections,
	OutOfMemory:                  erOutOfResources,
	QueryCanceled:                erQueryInterrupted,
	AdminShutdown:                erServerShutdown,
	ConfigurationLimitExceeded:   erOutOfResources,
	ObjectNotInPrerequisiteState: erUnknownError,
}

func mysqlNumber(code string) uint16 {
	if n, ok := numbers[code]; ok {
		return n
	}
	return erUnknownError
}
