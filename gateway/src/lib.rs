//! Switchboard data plane: one MCP endpoint in front of many MCP servers.
//!
//! A request flows `server` (HTTP transports, sessions, guards) → `auth` (who is
//! calling) → `server::dispatch` (MCP methods) → `routes` (which target owns a name) →
//! `upstream` (the MCP client shared with `sync`, with `credentials` for the target).
//! Catalogs (`catalog`) are produced by `sync` and loaded by the gateway; it never asks
//! an upstream what it offers while serving a list.

pub mod audit;
pub mod auth;
pub mod authz;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod jsonrpc;
pub mod limits;
pub mod naming;
pub mod protocol;
pub mod routes;
pub mod search;
pub mod secrets;
pub mod server;
pub mod sync;
pub mod telemetry;
pub mod upstream;
