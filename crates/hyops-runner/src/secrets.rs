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
    /// An age-bound secret but no identity to decrypt it with.
    #[error(
        "secret `{name}` is bound to age file `{path}`, but {AGE_IDENTITY_VAR} is not set\nhelp: export {AGE_IDENTITY_VAR}=<path of an age identity file> (as made by `age-keygen -o FILE`)"
    )]
    AgeIdentityMissing {
        /// Secret name.
        name: String,
        /// The age file as written.
        path: String,
    },
    /// The identity file could not be read or parsed.
    #[error(
        "secret `{name}`: the age identity file `{identity}` could not be used: {problem}\nhelp: {AGE_IDENTITY_VAR} must name a file of `AGE-SECRET-KEY-1…` lines"
    )]
    AgeIdentity {
        /// Secret name.
        name: String,
        /// The identity file.
        identity: String,
        /// What went wrong.
        problem: String,
    },
    /// The age file could not be decrypted (wrong identity, corrupt or not an age file).
    #[error(
        "secret `{name}`: age file `{path}` could not be decrypted: {problem}\nhelp: encrypt it to a recipient of the identity in {AGE_IDENTITY_VAR} (`age -r age1… -o {path} plain.txt`)"
    )]
    AgeDecrypt {
        /// Secret name.
        name: String,
        /// The age file as written.
        path: String,
        /// What went wrong.
        problem: String,
    },
    /// The decrypted value is not UTF-8 text.
    #[error(
        "secret `{name}`: age file `{path}` does not decrypt to UTF-8 text\nhelp: secrets are text; base64-encode binary values before encrypting them"
    )]
    AgeNotText {
        /// Secret name.
        name: String,
        /// The age file as written.
        path: String,
    },
    /// The reference names no source.
    #[error("secret `{name}` has no source (env, file or age)")]
    NoSource {
        /// Secret name.
        name: String,
    },
    /// A secret upstream output is available only inside the stack run that produced it.
    #[error(
        "secret `{name}` is a secret output of an upstream stack member ({reference}), which this run does not hold\nhelp: run the whole stack (`hyops run STACK`) so the producer's value is passed in memory"
    )]
    UpstreamUnavailable {
        /// Secret name.
        name: String,
        /// The upstream reference.
        reference: String,
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
    ///
    /// Secret outputs of upstream stack members come from `upstream` (secret name -> value,
    /// handed over in memory by the stack scheduler).
    pub fn fetch(
        request: &RunRequest,
        catalog_root: &std::path::Path,
        lookup_env: impl Fn(&str) -> Option<String>,
        upstream: &BTreeMap<String, Secret>,
    ) -> Result<Self, SecretError> {
        let mut by_name: BTreeMap<String, Secret> = BTreeMap::new();
        for (name, reference) in &request.secrets {
            if reference.upstream.is_some()
                && let Some(secret) = upstream.get(name)
            {
                by_name.insert(name.clone(), secret.clone());
                continue;
            }
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

/// The variable naming the age identity file that decrypts `age:` secrets.
pub const AGE_IDENTITY_VAR: &str = "HYOPS_AGE_IDENTITY";

/// Decrypts an age file (binary or armored) with every identity in the identity file.
fn decrypt_age(
    name: &str,
    full: &std::path::Path,
    path: &str,
    identity_file: &str,
) -> Result<String, SecretError> {
    let identity_error = |problem: String| SecretError::AgeIdentity {
        name: name.to_owned(),
        identity: identity_file.to_owned(),
        problem,
    };
    let identities = age::IdentityFile::from_file(identity_file.to_owned())
        .map_err(|e| identity_error(e.to_string()))?
        .into_identities()
        .map_err(|e| identity_error(e.to_string()))?;
    let ciphertext = std::fs::read(full).map_err(|source| SecretError::File {
        name: name.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    let decrypt_error = |problem: String| SecretError::AgeDecrypt {
        name: name.to_owned(),
        path: path.to_owned(),
        problem,
    };
    let decryptor =
        age::Decryptor::new_buffered(age::armor::ArmoredReader::new(ciphertext.as_slice()))
            .map_err(|e| decrypt_error(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| decrypt_error(e.to_string()))?;
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut plain)
        .map_err(|e| decrypt_error(e.to_string()))?;
    String::from_utf8(plain).map_err(|_| SecretError::AgeNotText {
        name: name.to_owned(),
        path: path.to_owned(),
    })
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
    if let Some(upstream) = &reference.upstream {
        return Err(SecretError::UpstreamUnavailable {
            name: name.to_owned(),
            reference: upstream.clone(),
        });
    }
    if let Some(path) = &reference.age {
        let identity =
            lookup_env(AGE_IDENTITY_VAR).ok_or_else(|| SecretError::AgeIdentityMissing {
                name: name.to_owned(),
                path: path.clone(),
            })?;
        let text = decrypt_age(name, &catalog_root.join(path), path, &identity)?;
        return Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned());
    }
    Err(SecretError::NoSource {
        name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use age::secrecy::ExposeSecret;

    use super::*;

    fn age_ref(path: &str) -> SecretRef {
        SecretRef {
            env: None,
            file: None,
            age: Some(path.to_owned()),
            upstream: None,
        }
    }

    #[test]
    fn age_files_decrypt_binary_and_armored_with_the_identity_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = age::x25519::Identity::generate();
        let identity_file = dir.path().join("key.txt");
        std::fs::write(
            &identity_file,
            format!("# created: test\n{}\n", key.to_string().expose_secret()),
        )
        .unwrap();
        let recipient = key.to_public();
        std::fs::write(
            dir.path().join("db.age"),
            age::encrypt(&recipient, b"s3cr3t-db-password\n").unwrap(),
        )
        .unwrap();
        let armored = age::encrypt_and_armor(&recipient, b"armored-token-1234").unwrap();
        std::fs::write(dir.path().join("api.age"), armored).unwrap();
        let identity = identity_file.display().to_string();
        let env = |var: &str| (var == AGE_IDENTITY_VAR).then(|| identity.clone());
        let got = fetch_one("db", &age_ref("db.age"), dir.path(), &env).unwrap();
        assert_eq!(
            got, "s3cr3t-db-password",
            "trailing newline dropped like `file:`"
        );
        let got = fetch_one("api", &age_ref("api.age"), dir.path(), &env).unwrap();
        assert_eq!(got, "armored-token-1234");

        // A different identity cannot decrypt; the error names the file, never a value.
        let other = dir.path().join("other.txt");
        let other_key = age::x25519::Identity::generate();
        std::fs::write(&other, other_key.to_string().expose_secret()).unwrap();
        let other = other.display().to_string();
        let wrong = |var: &str| (var == AGE_IDENTITY_VAR).then(|| other.clone());
        let err = fetch_one("db", &age_ref("db.age"), dir.path(), &wrong).unwrap_err();
        assert!(matches!(err, SecretError::AgeDecrypt { .. }), "{err}");
        assert!(err.to_string().contains("db.age"), "{err}");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn age_without_an_identity_or_with_a_bad_one_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        let err = fetch_one("db", &age_ref("db.age"), dir.path(), &none).unwrap_err();
        assert!(
            err.to_string().contains("HYOPS_AGE_IDENTITY is not set"),
            "{err}"
        );
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "not a key\n").unwrap();
        let bad = bad.display().to_string();
        let env = |var: &str| (var == AGE_IDENTITY_VAR).then(|| bad.clone());
        let err = fetch_one("db", &age_ref("db.age"), Path::new("/"), &env).unwrap_err();
        assert!(matches!(err, SecretError::AgeIdentity { .. }), "{err}");
    }
}
