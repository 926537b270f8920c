package pgwire

import (
	"context"
	"strings"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// AdminDatabase is the database a client names to reach the proxy's admin
// console instead of a keyspace.
const AdminDatabase = "shardgate"

// AdminCommands answers the admin console: SHOW REPLICAS, SHOW SHARDS, …
// What is shown is read, never changed: the console changes nothing.
type AdminCommands interface {
	// Show answers SHOW what (what in lower case, e.g. "replicas") with
	// text columns and rows ("" is NULL); an unknown what is a
	// *sqlerr.Error.
	Show(what string) (cols []string, rows [][]string, err error)
}

// adminParams are what a client of the console is told at startup.
func adminParams(si StartupInfo) map[string]string {
	return map[string]string{
		"server_version": "15.0 (shardgate admin console)", "server_encoding": "UTF8", "client_encoding": "UTF8",
		"DateStyle": "ISO, MDY", "integer_datetimes": "on", "standard_conforming_strings": "on", "TimeZone": "UTC",
		"application_name": si.Params["application_name"], "is_superuser": "off", "session_authorization": si.User,
	}
}

// serveAdmin answers one client of the console, through the simple query
// protocol, until it leaves.
func serveAdmin(ctx context.Context, opts *SessionOptions, c *ClientConn) {
	in := pgio.NewReader(c.Conn(), pgio.ReaderOptions{MaxMessageSize: 1 << 20})
	out := pgio.NewWriter(c.Conn(), pgio.WriterOptions{})
	defer in.Release()
	defer out.Release()
	discard := false // after an extended-protocol message, until Sync
	for ctx.Err() == nil {
		if err := out.Flush(); err != nil {
			return
		}
		typ, body, err := in.ReadMessage()
		if err != nil {
			return
		}
		switch typ {
		case pgio.TypeTerminate:
			return
		case pgio.TypeQuery:
			text, err := pgio.DecodeQuery(body)
			if err != nil {
				return
			}
			adminQuery(opts.Admin, string(text), out)
			out.WriteReadyForQuery(pgio.TxIdle)
		case pgio.TypeSync:
			discard = false
			out.WriteReadyForQuery(pgio.TxIdle)
		case pgio.TypeCopyData, pgio.TypeCopyDone, pgio.TypeCopyFail, pgio.TypeFlush:
			// Outside COPY: ignored, as Postgres does.
		case pgio.TypeFunctionCall:
			out.WriteErrorResponse(pgio.SeverityError, sqlerr.New(sqlerr.FeatureNotSupported, "the fast-path function call protocol is not supported"))
			out.WriteReadyForQuery(pgio.TxIdle)
		default:
			if !discard {
				discard = true
				out.WriteErrorResponse(pgio.SeverityError, sqlerr.New(sqlerr.FeatureNotSupported,
					"the shardgate admin console answers simple queries only").WithHint("psql works; or pgx with QueryExecModeSimpleProtocol."))
			}
		}
	}
}

// adminQuery answers one query text of the console.
func adminQuery(admin AdminCommands, text string, out *pgio.Writer) {
	q := strings.ToLower(strings.Join(strings.Fields(strings.TrimRight(strings.TrimSpace(stripLeadingComments(text)), "; \t\n")), " "))
	if q == "" {
		out.WriteEmpty(pgio.TypeEmptyQueryResponse)
		return
	}
	what, ok := strings.CutPrefix(q, "show ")
	if !ok {
		out.WriteErrorResponse(pgio.SeverityError, sqlerr.New(sqlerr.SyntaxError, "the admin console answers SHOW commands only").
			WithHint("SHOW REPLICAS, SHOW SHARDS."))
		return
	}
	cols, rows, err := admin.Show(what)
	if err != nil {
		out.WriteErrorResponse(pgio.SeverityError, sqlerr.From(err))
		return
	}
	out.WriteRaw(pgio.TypeRowDescription, textRowDescription(cols...))
	var buf []byte
	for _, r := range rows {
		buf = appendTextRow(buf[:0], r)
		out.WriteRaw(pgio.TypeDataRow, buf)
	}
	out.WriteCommandComplete("SHOW")
}
