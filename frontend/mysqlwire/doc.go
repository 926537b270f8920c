// Package mysqlwire owns the MySQL wire protocol, server side, on vitess
// go/mysql: the listener and its handshake, authentication from the
// proxy's own verifiers (auth.go: mysql_native_password, and
// caching_sha2_password over TLS, as vitess offers it only there), the
// require-TLS option, and encoding sqlerr.Error as an ERR packet with a
// MySQL number and SQLSTATE (errors.go); then, per client, COM_QUERY
// (multi-statements are split by the listener and run one by one),
// COM_INIT_DB, COM_PING, COM_QUIT, COM_RESET_CONNECTION and prepared
// statements (session*.go).
//
// A session routes each statement with the router and runs it on a shard
// primary's connection from the backend pools, as text, reading the whole
// result so that the server's status flags and warning count reach the
// client (vitess's server sends its Conn.StatusFlags, so the session
// copies the backend's flags there). Transaction pooling follows those
// flags: a session holds its server connection while the server says a
// transaction is open — also the one autocommit=0 opens with any statement
// — or while the session is pinned to it (user variables, temporary
// tables, locks), and gives it back otherwise. The session's SETs are
// replayed on every connection it uses; a connection that carries another
// session's state is reset first (COM_RESET_CONNECTION). Under session
// pooling a session keeps a connection per shard it used until it ends.
//
// A transaction may run on several shards (session_tx.go): each shard's
// part has its own connection and COMMIT ends them all. Parts joined
// after the first are XA branches, so it may write anywhere
// (session_txxa.go), unless it began with options XA START cannot carry
// (READ ONLY, WITH CONSISTENT SNAPSHOT): then it writes on one shard only.
//
// LAST_INSERT_ID(), ROW_COUNT(), FOUND_ROWS() and CONNECTION_ID() answer
// for the client's session (functions.go); UPDATE's affected rows follow
// the client's CLIENT_FOUND_ROWS (a pool per mode); KILL [QUERY] takes the
// client's login id and cancels that client's statement on its server
// only (kill.go). INSERT without a column list learns the table's columns
// from a shard (catalog.go). Prepared statements run as text with their
// values written in (prepare.go; clientconn_stmt.go restores unsigned parameters
// vitess decodes as signed, for clear-text clients). Idle clients are
// closed after limits.client_idle_timeout / idle_in_transaction_timeout.
//
// Writes on several shards (session_fanout*.go, session_xa.go, xa.go,
// resolver.go): DDL runs shard by shard (MariaDB DDL commits by itself)
// and a failure names the shards done and not done; a multi-row INSERT
// split by key, an UPDATE or DELETE without a usable key and a
// reference-table write commit with XA, in autocommit or in the client's
// transaction, the decision row in shardgate_2pc on the transaction's
// anchor shard; RunResolver finishes branches left prepared. See
// docs/design/mysql-writes.md.
//
// Reads on several shards (session_scatter*.go): rewritten by
// parser/mysql.RewriteScatter, run on a connection per shard at once (in
// a transaction, on the transaction's part per shard, joining shards as
// a write would), merged by the executor with executor/myvalue. See
// docs/design/mysql-scatter.md.
//
// Replica reads (session_replica.go): plain reads outside a transaction,
// one-shard and scatter, run on a replica the monitor picks (ReplicaReads)
// as the session's read policy says (config, SET shardgate.read / max_lag
// / read_your_writes, which the proxy answers, hints); a commit on a shard
// with replicas reads @@last_gtid in the same text, and later reads there
// need a replica past it; a read whose replica connection is lost runs
// once more on the primary. See docs/design/replicas.md.
//
// A START TRANSACTION READ ONLY whose first read may use a replica runs
// wholly on one.
//
// KILL QUERY of a read running on a replica is sent to that replica
// (kill.go).
//
// The client's TLS ends in the proxy, under vitess (clientconn.go), so that
// the client's packets are read in clear before vitess reads them: for
// unsigned prepared-statement parameters, MariaDB's answers to
// prepared-statement commands vitess gets wrong, and
// limits.max_message_size. A session's sql_mode may not change how texts
// are read (sqlmode.go), nor its character set (auth.go, settings.go):
// docs/design/mysql-session.md.
//
// Process-wide vitess side effects are contained here: vitess's log goes
// to the logger given in Options (default: nowhere), the glog flags it
// registers on the standard flag set are never parsed, and vitess's static
// auth server (which installs a SIGHUP handler) is never used.
//
// A one-shard read's result is forwarded to the client as the server's
// packets, not decoded and encoded again (session_raw.go, rawend.go;
// docs/design/mysql-raw-results.md); a prepared statement's text rows are
// rewritten as binary rows on the way (binrow.go).
//
// mysqlwire imports router, parser, shardmap, auth, config, replicas
// (positions and leases), internal/sqlerr, backend/mysql (only the
// vocabulary of forwarded packets: PacketSink, PacketKind, Summary) and
// vitess go/mysql, go/sqltypes; nothing imports it but proxy and cmd.
package mysqlwire
