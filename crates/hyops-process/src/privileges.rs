//! Who we run as (profiles may require non-root execution).

/// Whether the effective user id is 0.
pub fn current_uid_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
