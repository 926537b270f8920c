package mysqlwire

import (
	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// prepare and execute are COM_STMT_PREPARE and COM_STMT_EXECUTE: not yet
// (vitess decodes unsigned parameters as signed; the proxy must decode the
// execute packet itself first).
func (ss *session) prepare(query string) ([]*querypb.Field, uint16, error) {
	return nil, 0, errPrepareNotYet
}

func (ss *session) execute(prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return errPrepareNotYet
}

var errPrepareNotYet = sqlerr.New(sqlerr.FeatureNotSupported, "server-side prepared statements (COM_STMT_PREPARE) are not supported by shardgate yet").
	WithHint("Use client-side prepared statements (go-sql-driver: interpolateParams=true; PyMySQL does so by default).")
