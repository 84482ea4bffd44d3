//! The contract matrix as a test target (`harness = false`): `cargo test -p contract-tests`
//! runs every scenario and prints the matrix; `cargo xtask contract` runs this target alone.

fn main() -> std::process::ExitCode {
    contract_tests::main()
}
