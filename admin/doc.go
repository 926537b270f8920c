// Package admin owns the admin HTTP endpoint: /healthz, /metrics (the
// Prometheus text format, from collectors the caller registers, read at
// scrape time), /debug/pprof; the /status page and the JSON API come later.
// It reads the proxy's state and changes nothing by itself.
//
// admin imports shardmap (to show the topology) and the Prometheus client;
// never frontend, backend or proxy (those register collectors with it).
// Only cmd and proxy (which assembles the endpoints) import admin.
package admin
