// Package myvalue is MySQL's (MariaDB's) executor.Decoder: it reads and
// writes the text-protocol fields of the column types a cross-shard merge
// compares or aggregates, and does MariaDB's aggregate arithmetic: a sum of
// DECIMALs keeps its scale, avg of a DECIMAL sum (avg of any integer or
// DECIMAL) is a DECIMAL whose scale grows by div_precision_increment
// (default 4) and is rounded half up, avg of a DOUBLE sum is a DOUBLE.
//
// A column is described to the executor by Column (the wire type code,
// unsignedness, character set number and decimals of its column
// definition): the front end converts its field descriptions, so the
// executor needs nothing of the wire.
//
// Text of a character set is compared by its column's collation
// (collation.go): the session learns the collation from one shard and
// marks the column (WithCollation); the codec decodes a value to a sort
// key built from vitess' weight strings with MariaDB's PAD SPACE, so 'a' =
// 'A  ' under utf8mb4_general_ci. A UCA id (224, which MariaDB also
// sends for its UCA 14.0.0 collations) counts only once the session has
// named it by COLLATION(x) (WithNamedCollation). A collation vitess does
// not know (MariaDB's NO PAD and UCA 14.0.0 ones) is refused (0A000 /
// 1235). Binary
// strings (character set 63) compare by bytes. ENUM and SET sort by their
// index, JSON by its own rules: refused.
//
// myvalue imports executor, parser, internal/sqlerr and vitess'
// collations (the one place the executor's side touches vitess); never
// frontend, admin or cmd.
package myvalue
