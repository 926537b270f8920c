// Package pgvalue is Postgres' executor.Decoder: it reads and writes the
// text and binary forms of the built-in types a cross-shard merge compares
// or aggregates (int2, int4, int8, numeric, float4, float8, text, varchar,
// bpchar, name, bool, date, timestamp, timestamptz, uuid, bytea), through
// pgx's pgtype where a format is not trivial, and does Postgres' aggregate
// arithmetic byte for byte: a sum of numerics keeps the largest scale, avg
// divides with numeric.c's select_div_scale, floats print as float8out
// does.
//
// Other types only pass through; asked for their codec, the Decoder
// refuses with SQLSTATE 0A000.
//
// Text forms assume the session settings the proxy keeps on every shard
// alike and Postgres' defaults where it writes text itself: DateStyle ISO,
// bytea_output hex, and extra_float_digits as the Decoder is told.
//
// pgvalue imports executor, parser, internal/sqlerr and pgx's pgtype;
// never frontend, admin or cmd.
package pgvalue
