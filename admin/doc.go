// Package admin owns the admin HTTP endpoint: /healthz now; /metrics, the
// /status page and the JSON API as later work adds what they show. It reads
// the proxy's state and changes nothing by itself.
//
// admin imports shardmap (to show the topology); nothing imports admin but
// cmd.
package admin
