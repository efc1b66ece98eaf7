//! The RunRequest fingerprint: what a run is, independent of where the catalog sits or how its
//! files are laid out.
//!
//! `fingerprint = sha256:<hex>` of the canonical JSON of the request with `fingerprint` set to ""
//! and the provenance fields (`inputs.*.source_location`, `probes[*].declared_at`) set to "".
//! Provenance is kept in the request for humans, but moving a key within a file (which changes
//! line numbers and nothing else) must not change the identity of a run.

use hyops_contract::RunRequest;

/// Computes the fingerprint of `request` (its own `fingerprint` field is ignored).
pub fn fingerprint(request: &RunRequest) -> String {
    request.compute_fingerprint()
}
