//! Process exit codes, chosen only at the CLI edge. 101 is never returned on purpose: it is Rust's
//! panic code, and a panic is always a bug.

/// Success: the command did what was asked (a run PASSed, validation found no errors).
pub const OK: u8 = 0;

/// The command ran but the answer is "no": a run failed, validation found errors, an operation on
/// the file system or a child process failed.
pub const FAILED: u8 = 1;

/// The invocation is wrong: unknown command or flag, bad value, no catalog where one is needed, a
/// refusal the user can fix by changing the command line.
pub const USAGE: u8 = 2;

/// Added to a signal number when a plugin was killed by that signal (shell convention: 128 + n).
pub const SIGNAL_BASE: u8 = 128;
