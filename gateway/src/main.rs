//! `switchboard-gateway`: serves the catalogs and runtime config found in a directory
//! (the operator's projected volume).

fn main() -> anyhow::Result<()> {
    switchboard_gateway::cli::main()
}
