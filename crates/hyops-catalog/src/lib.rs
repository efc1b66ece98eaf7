//! Load catalog YAML with spans, validate, lint, resolve to a RunRequest, fingerprint.
