//! Switchboard's benchmark and reliability harness.
//!
//! `upstream`: a fast rmcp-based MCP server; `client`: a raw-HTTP MCP client in both
//! protocol eras; `load`: N concurrent clients with latency percentiles; `gateway`: the
//! gateway in this process or as a child process (RSS, start-up time); `bench`: the
//! benchmark program's measurements and report. The reliability suite (`tests/`) uses the
//! same pieces.

pub mod bench;
pub mod client;
pub mod gateway;
pub mod load;
pub mod upstream;
