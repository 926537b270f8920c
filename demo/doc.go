// Package demo owns the demo cluster behind `shardgate demo`: its fixed
// contract (ports 6432, 3307 and 9090; user app/app; database app; keyspace
// app hash-sharded over -80 and 80-; tables users, orders and products), the
// schema and rows it creates on real sandbox servers (on Postgres through
// the proxy itself, with orders.id from a generator), the config it writes,
// and the proxy it serves in front of them.
//
// Every later change keeps the contract: the README documents it.
//
// demo imports sandbox, shardmap, store, config, auth and admin; nothing
// imports demo but cmd.
package demo
