//! The `hyops` binary: everything lives in the `hyops_cli` library.

fn main() -> std::process::ExitCode {
    hyops_cli::main()
}
