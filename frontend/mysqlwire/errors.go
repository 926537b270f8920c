package mysqlwire

import (
	"errors"
	"strings"

	"vitess.io/vitess/go/mysql/sqlerror"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// mysqlError turns any error of a statement into what vitess writes as an
// ERR packet. A server's own error (its *sqlerror.SQLError is in the
// chain) keeps its number and SQLSTATE; the proxy's errors get their MySQL
// number and the SQLSTATE MySQL pairs with that number, since sqlerr's
// codes are Postgres' (42601 is 42000 to a MySQL client).
func mysqlError(err error) error {
	if err == nil {
		return nil
	}
	if se, ok := err.(*sqlerror.SQLError); ok {
		return se
	}
	e := sqlerr.From(err)
	var se *sqlerror.SQLError
	if errors.As(e, &se) && uint16(se.Num) == e.Number && se.State == e.Code {
		return &sqlerror.SQLError{Num: se.Num, State: se.State, Message: se.Message}
	}
	num := e.Number
	if num == 0 {
		num = uint16(sqlerror.ERUnknownError)
	}
	return &sqlerror.SQLError{Num: sqlerror.ErrorCode(num), State: mysqlState(e.Code, num), Message: message(e)}
}

// message is the error's text with its detail and hint: MySQL's ERR
// packet has only the one message.
func message(e *sqlerr.Error) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	if e.Hint != "" {
		b.WriteString(". ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// statesByNumber are the SQLSTATEs MySQL sends with the numbers the proxy
// raises (include/mysqld_error.h, sql/sql_state.h).
var statesByNumber = map[uint16]string{
	1040: "08004", // ER_CON_COUNT_ERROR
	1041: "HY000", // ER_OUT_OF_RESOURCES
	1044: "42000", // ER_DBACCESS_DENIED_ERROR
	1045: "28000", // ER_ACCESS_DENIED_ERROR
	1046: "3D000", // ER_NO_DB_ERROR
	1048: "23000", // ER_BAD_NULL_ERROR
	1049: "42000", // ER_BAD_DB_ERROR
	1053: "08S01", // ER_SERVER_SHUTDOWN
	1064: "42000", // ER_PARSE_ERROR
	1104: "42000", // ER_TOO_BIG_SELECT
	1105: "HY000", // ER_UNKNOWN_ERROR
	1146: "42S02", // ER_NO_SUCH_TABLE
	1158: "08S01", // ER_NET_READ_ERROR
	1235: "42000", // ER_NOT_SUPPORTED_YET
	1264: "22003", // ER_WARN_DATA_OUT_OF_RANGE
	1290: "HY000", // ER_OPTION_PREVENTS_STATEMENT
	1292: "22007", // ER_TRUNCATED_WRONG_VALUE
	1305: "42000", // ER_SP_DOES_NOT_EXIST
	1317: "70100", // ER_QUERY_INTERRUPTED
	1366: "HY000", // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
	1399: "XAE07", // ER_XAER_RMFAIL
	1402: "XA100", // ER_XA_RBROLLBACK
	2013: "HY000", // CR_SERVER_LOST
	2003: "HY000", // CR_CONN_HOST_ERROR
}

// mysqlStates are SQLSTATEs a MySQL server itself sends, kept as they are
// when the number is not in statesByNumber.
var mysqlStates = map[string]bool{
	"42000": true, "HY000": true, "23000": true, "08S01": true, "28000": true, "42S02": true, "42S22": true,
	"70100": true, "08004": true, "22003": true, "22007": true, "22001": true, "XAE07": true, "25000": true, "40001": true,
	"3D000": true, "0A000": true, "21000": true, "HY001": true,
}

func mysqlState(code string, num uint16) string {
	if s, ok := statesByNumber[num]; ok {
		return s
	}
	if mysqlStates[code] {
		return code
	}
	return "HY000"
}
