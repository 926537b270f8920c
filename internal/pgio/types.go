package pgio

// Message type bytes of protocol 3.0. Frontend (client to server) and
// backend (server to client) types overlap ('C', 'D', 'E' mean different
// messages in each direction), hence the two groups.
const (
	// Frontend messages.
	TypeBind            byte = 'B'
	TypeClose           byte = 'C'
	TypeCopyData        byte = 'd'
	TypeCopyDone        byte = 'c'
	TypeCopyFail        byte = 'f'
	TypeDescribe        byte = 'D'
	TypeExecute         byte = 'E'
	TypeFlush           byte = 'H'
	TypeFunctionCall    byte = 'F'
	TypeParse           byte = 'P'
	TypePasswordMessage byte = 'p' // also SASLInitialResponse, SASLResponse, GSSResponse
	TypeQuery           byte = 'Q'
	TypeSync            byte = 'S'
	TypeTerminate       byte = 'X'

	// Backend messages.
	TypeAuthentication           byte = 'R'
	TypeBackendKeyData           byte = 'K'
	TypeBindComplete             byte = '2'
	TypeCloseComplete            byte = '3'
	TypeCommandComplete          byte = 'C'
	TypeCopyInResponse           byte = 'G'
	TypeCopyOutResponse          byte = 'H'
	TypeCopyBothResponse         byte = 'W'
	TypeDataRow                  byte = 'D'
	TypeEmptyQueryResponse       byte = 'I'
	TypeErrorResponse            byte = 'E'
	TypeFunctionCallResponse     byte = 'V'
	TypeNegotiateProtocolVersion byte = 'v'
	TypeNoData                   byte = 'n'
	TypeNoticeResponse           byte = 'N'
	TypeNotificationResponse     byte = 'A'
	TypeParameterDescription     byte = 't'
	TypeParameterStatus          byte = 'S'
	TypeParseComplete            byte = '1'
	TypePortalSuspended          byte = 's'
	TypeReadyForQuery            byte = 'Z'
	TypeRowDescription           byte = 'T'
)

// Request codes of the untyped startup-phase packets: the first four bytes
// of a ReadStartup body.
const (
	ProtocolVersion30 uint32 = 3<<16 | 0
	CancelRequestCode uint32 = 1234<<16 | 5678
	SSLRequestCode    uint32 = 1234<<16 | 5679
	GSSENCRequestCode uint32 = 1234<<16 | 5680
)

// TxStatus is the transaction status a ReadyForQuery reports.
type TxStatus byte

const (
	TxIdle    TxStatus = 'I' // not in a transaction block
	TxInBlock TxStatus = 'T' // in a transaction block
	TxFailed  TxStatus = 'E' // in a failed transaction block
)

func (s TxStatus) String() string {
	switch s {
	case TxIdle:
		return "idle"
	case TxInBlock:
		return "in transaction"
	case TxFailed:
		return "in failed transaction"
	default:
		return "TxStatus(" + string(rune(s)) + ")"
	}
}

// Valid reports whether s is one of the three statuses.
func (s TxStatus) Valid() bool { return s == TxIdle || s == TxInBlock || s == TxFailed }

// ObjectType says whether Describe and Close name a prepared statement or
// a portal.
type ObjectType byte

const (
	ObjectStatement ObjectType = 'S'
	ObjectPortal    ObjectType = 'P'
)

func (t ObjectType) String() string {
	switch t {
	case ObjectStatement:
		return "statement"
	case ObjectPortal:
		return "portal"
	default:
		return "ObjectType(" + string(rune(t)) + ")"
	}
}
