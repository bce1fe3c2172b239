//! Switchboard's control plane: the custom resources, the operator, local mode and the demo.
//!
//! `crd` is the API; `manifests` turns manifests into the gateway's runtime config;
//! `render` builds the objects the operator applies, `status` computes statuses, and
//! `controller` runs the GatewayTarget and Gateway controllers; `local` syncs and
//! serves manifests in one process; `demo` adds sample team servers.

pub mod controller;
pub mod crd;
pub mod demo;
pub mod local;
pub mod manifests;
pub mod metrics;
pub mod render;
pub mod status;
