//! Secret type, streaming redactor, write-once evidence files, MANIFEST and verification.
