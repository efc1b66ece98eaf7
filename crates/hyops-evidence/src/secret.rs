//! The secret value type: carries a name, never shows its value in `Debug` or `Display`.

use secrecy::{ExposeSecret, SecretString};

/// A named secret value. Formatting prints `[REDACTED:<name>]`; only [`Secret::expose`] gives the value.
#[derive(Clone)]
pub struct Secret {
    name: String,
    value: SecretString,
}

impl Secret {
    /// Wraps `value` under `name` (the name appears in redaction markers and messages).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: SecretString::from(value.into()),
        }
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value. Call only where it is handed to a child environment or the redactor.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[REDACTED:{}]", self.name)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[REDACTED:{}]", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("db_password", "hunter2-hunter2");
        assert_eq!(format!("{s}"), "[REDACTED:db_password]");
        assert_eq!(format!("{s:?}"), "[REDACTED:db_password]");
        assert_eq!(format!("{:?}", vec![s.clone()]), "[[REDACTED:db_password]]");
        assert_eq!(s.expose(), "hunter2-hunter2");
    }
}
