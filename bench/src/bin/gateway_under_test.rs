//! Exactly `switchboard-gateway`'s `main`: see bench/Cargo.toml for why it is built here.

fn main() -> anyhow::Result<()> {
    switchboard_gateway::cli::main()
}
