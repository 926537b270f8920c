// Package mysqlwire will own the MySQL wire protocol, server side, on vitess
// go/mysql: handshake and auth (mysql_native_password, caching_sha2_password
// over TLS), COM_QUERY, prepared statements, and encoding sqlerr.Error as an
// ERR packet. Every vitess import of the front end stays inside it.
//
// Status: empty; filled by the MySQL endpoint issue.
//
// mysqlwire imports executor, router, parser, shardmap, auth and config;
// nothing imports it but cmd.
package mysqlwire
