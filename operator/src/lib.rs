//! Switchboard's control plane: the custom resources, local mode and the demo.
//!
//! `crd` is the API; `manifests` turns manifests into the gateway's runtime config;
//! `local` syncs and serves them in one process; `demo` adds sample team servers.

pub mod crd;
pub mod demo;
pub mod local;
pub mod manifests;
