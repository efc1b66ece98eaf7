//! The RunRequest fingerprint: what a run is, independent of where the catalog sits or how its
//! files are laid out.
//!
//! `fingerprint = sha256:<hex>` of the canonical JSON of the request with `fingerprint` set to ""
//! and the provenance fields (`inputs.*.source_location`, `probes[*].declared_at`) set to "".
//! Provenance is kept in the request for humans, but moving a key within a file (which changes
//! line numbers and nothing else) must not change the identity of a run.

use hyops_contract::RunRequest;

use crate::canonical_json::canonical_digest;

/// Computes the fingerprint of `request` (its own `fingerprint` field is ignored).
pub fn fingerprint(request: &RunRequest) -> String {
    let mut r = request.clone();
    r.fingerprint = String::new();
    for input in r.inputs.values_mut() {
        input.source_location = String::new();
    }
    for probe in &mut r.probes {
        probe.declared_at = String::new();
    }
    match serde_json::to_value(&r) {
        Ok(v) => canonical_digest(&v),
        // A RunRequest is plain data; serialising it cannot fail.
        Err(_) => String::new(),
    }
}
