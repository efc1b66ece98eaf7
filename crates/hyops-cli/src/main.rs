//! The `hyops` binary: everything lives in the `hyops_cli` library.

// mimalloc: validating a large catalog allocates many small maps per document; the system
// allocator spent ~10% of validate's CPU in page faults and locking (see bench/catalog.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hyops_cli::main()
}
