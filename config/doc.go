// Package config owns shardgate's one YAML configuration file: its schema,
// strict decoding (an unknown key is an error, never ignored), defaults
// (EnsureDefaults), validation (Validate, which reports every problem, each
// with its key path and line), resolution of backend secrets from files or
// environment variables, and the atomic swap of a whole config on reload
// (Current).
//
// A *Config returned by Load or Parse is immutable: nobody changes it after
// it is published; a reload builds a new one and swaps it in whole.
//
// Secrets: client users are given by password verifiers only (package auth
// parses them); backend passwords only by a file or an environment variable
// name, resolved at load into Secret values that never print.
//
// The topology section seeds an empty shard-map store only; once the store
// holds a map, the store wins (see shardmap).
//
// config imports auth and shardmap (for the topology's schema and
// validation) and nothing else from shardgate. It must never import router,
// executor, backend, frontend, admin or cmd, and it opens no network
// connection: the only I/O is reading the config file and the secret files
// it names.
package config
