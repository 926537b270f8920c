// Package myvalue is MySQL's (MariaDB's) executor.Decoder: it reads and
// writes the text-protocol fields of the column types a cross-shard merge
// compares or aggregates, and does MariaDB's aggregate arithmetic: a sum of
// DECIMALs keeps its scale, avg of a DECIMAL sum (avg of any integer or
// DECIMAL) is a DECIMAL whose scale grows by div_precision_increment
// (default 4) and is rounded half up, avg of a DOUBLE sum is a DOUBLE.
//
// A column is described to the executor by Column (the wire type code,
// unsignedness, character set number and decimals of its column
// definition), so that this package needs nothing of vitess: the front end
// converts its field descriptions.
//
// Text is compared only when it is a binary string (character set 63:
// BINARY, VARBINARY, BLOB), whose order is byte order. Other text is
// refused (0A000 / 1235): the column definition carries the result's
// character set, not the collation the column compares by, and MySQL's
// collations (case-insensitive ones, and the PAD SPACE _bin ones, where
// 'a' = 'a ') do not order by bytes. ENUM and SET sort by their index, JSON
// by its own rules: refused too.
//
// myvalue imports executor, parser and internal/sqlerr; never vitess,
// frontend, admin or cmd.
package myvalue
