//! The `hyops` binary: everything lives in the `hyops_cli` library.

// mimalloc: validating a large catalog allocates many small maps per document; the system
// allocator spent ~10% of validate's CPU in page faults and locking (see bench/catalog.sh).
// Its v2 line (the `v2` feature): v3 reserves and maps a 1 GiB arena and extends page free lists
// eagerly at start-up, ~1.5 ms of every command (`--version` 3.65 -> 3.21 ms, system allocator
// 2.62 ms), while validating 10,000 modules takes the same time with either line.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    hyops_cli::main()
}
