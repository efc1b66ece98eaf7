//! Fetching secret values at run time from the references a RunRequest holds, and building the
//! redactor that every byte hyops writes passes through.

use std::collections::BTreeMap;

use hyops_contract::{RunRequest, SecretRef};
use hyops_evidence::{Redactor, RedactorError, Secret};
use serde_json::{Map, Value};

/// Why a secret could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set.
    #[error(
        "secret `{name}` is bound to environment variable `{var}`, which is not set\nhelp: export {var}=… before running hyops"
    )]
    EnvMissing {
        /// Secret name.
        name: String,
        /// Variable name.
        var: String,
    },
    /// The file could not be read.
    #[error("secret `{name}` is bound to file `{path}`, which could not be read: {source}")]
    File {
        /// Secret name.
        name: String,
        /// Path as written in the environment.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// age-encrypted secrets are declared but not supported by this build.
    #[error(
        "secret `{name}` is bound to an age file; age decryption is not supported yet\nhelp: bind it with `env:` or `file:` for now"
    )]
    AgeUnsupported {
        /// Secret name.
        name: String,
    },
    /// The reference names no source.
    #[error("secret `{name}` has no source (env, file or age)")]
    NoSource {
        /// Secret name.
        name: String,
    },
    /// The value cannot be redacted safely.
    #[error(transparent)]
    Redactor(#[from] RedactorError),
}

/// The secret values of one run, and the redactor built from them.
#[derive(Debug)]
pub struct RunSecrets {
    secrets: Vec<Secret>,
    /// Input name -> value, for secret inputs.
    inputs: Map<String, Value>,
    redactor: Redactor,
}

impl RunSecrets {
    /// Fetches every secret the request references. `lookup_env` reads hyops' own environment
    /// (injected so tests and the library stay pure); relative `file:` paths resolve against
    /// `catalog_root`.
    pub fn fetch(
        request: &RunRequest,
        catalog_root: &std::path::Path,
        lookup_env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SecretError> {
        let mut by_name: BTreeMap<String, Secret> = BTreeMap::new();
        for (name, reference) in &request.secrets {
            let value = fetch_one(name, reference, catalog_root, &lookup_env)?;
            by_name.insert(name.clone(), Secret::new(name.clone(), value));
        }
        let mut inputs = Map::new();
        for (input, resolved) in &request.inputs {
            if let Some(secret_name) = &resolved.secret_ref
                && let Some(secret) = by_name.get(secret_name)
            {
                inputs.insert(input.clone(), Value::String(secret.expose().to_owned()));
            }
        }
        let secrets: Vec<Secret> = by_name.into_values().collect();
        let redactor = Redactor::from_secrets(&secrets)?;
        Ok(Self {
            secrets,
            inputs,
            redactor,
        })
    }

    /// Secret input name -> value (for the 0600 inputs file and probe templates).
    pub fn inputs(&self) -> &Map<String, Value> {
        &self.inputs
    }

    /// The redactor over every secret of the run.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Adds values that became secret during the run (secret outputs) and rebuilds the redactor.
    pub fn add(&mut self, extra: impl IntoIterator<Item = Secret>) -> Result<(), SecretError> {
        let before = self.secrets.len();
        self.secrets.extend(extra);
        if self.secrets.len() != before {
            self.redactor = Redactor::from_secrets(&self.secrets)?;
        }
        Ok(())
    }
}

/// Fetches one secret's value from its reference (see [`RunSecrets::fetch`]).
pub fn fetch_one(
    name: &str,
    reference: &SecretRef,
    catalog_root: &std::path::Path,
    lookup_env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SecretError> {
    if let Some(var) = &reference.env {
        return lookup_env(var).ok_or_else(|| SecretError::EnvMissing {
            name: name.to_owned(),
            var: var.clone(),
        });
    }
    if let Some(path) = &reference.file {
        let full = catalog_root.join(path);
        let text = std::fs::read_to_string(&full).map_err(|source| SecretError::File {
            name: name.to_owned(),
            path: path.clone(),
            source,
        })?;
        // A trailing newline is an editor artefact, not part of the secret.
        return Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned());
    }
    if reference.age.is_some() {
        return Err(SecretError::AgeUnsupported {
            name: name.to_owned(),
        });
    }
    Err(SecretError::NoSource {
        name: name.to_owned(),
    })
}
