//! Output rendering: text vs JSON results on stdout, errors as text on stderr or as
//! `hyops_contract::ErrorResponse` JSON on stdout, colour decisions, miette diagnostics.
//!
//! With `--output json` stdout always carries exactly one JSON document, so a consumer can parse it
//! whatever the exit code; the exit code says which kind of document it is.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use hyops_contract::ErrorResponse;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
use serde::Serialize;

use crate::cli::{ColorChoice, OutputFormat};
use crate::env_vars::{EnvVars, non_empty};
use crate::error::CliError;

/// ANSI styling that degrades to plain text when colour is off. Text must make sense without it.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Styling on or off.
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// Whether escape codes are emitted.
    pub fn enabled(self) -> bool {
        self.enabled
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Bold red, for `error:`.
    pub fn error(self, text: &str) -> String {
        self.paint("1;31", text)
    }
    /// Bold yellow, for `warning:`.
    pub fn warning(self, text: &str) -> String {
        self.paint("1;33", text)
    }
    /// Bold cyan, for `help:`.
    pub fn help(self, text: &str) -> String {
        self.paint("1;36", text)
    }
    /// Bold.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    /// Green, for success.
    pub fn good(self, text: &str) -> String {
        self.paint("32", text)
    }
    /// Dim, for secondary detail.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// Whether to colour a stream: `always` wins over NO_COLOR, `auto` needs a terminal and no NO_COLOR.
pub fn color_enabled(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && non_empty(EnvVars::NO_COLOR).is_none(),
    }
}

/// Writes results and errors in the requested format.
#[derive(Debug, Clone)]
pub struct Printer {
    format: OutputFormat,
    stdout_style: Style,
    stderr_style: Style,
    quiet: bool,
}

impl Printer {
    /// A printer for the given flags, deciding colour per stream.
    pub fn new(format: OutputFormat, color: ColorChoice, quiet: bool) -> Self {
        Self {
            format,
            stdout_style: Style::new(color_enabled(color, std::io::stdout().is_terminal())),
            stderr_style: Style::new(color_enabled(color, std::io::stderr().is_terminal())),
            quiet,
        }
    }

    /// `--output`
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Styling for text written to stdout.
    pub fn style(&self) -> Style {
        self.stdout_style
    }

    /// `-q` was given: informational text is suppressed, results and errors are not.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Prints a command's result: `value` as pretty JSON, or the text `text` builds.
    pub fn emit<T: Serialize>(
        &self,
        value: &T,
        text: impl FnOnce(Style) -> String,
    ) -> Result<(), CliError> {
        match self.format {
            OutputFormat::Json => self.json(value),
            OutputFormat::Text => write_stdout(text(self.stdout_style).as_bytes()),
        }
    }

    /// Prints `value` as one pretty JSON document on stdout.
    pub fn json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let mut text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        text.push('\n');
        write_stdout(text.as_bytes())
    }

    /// Prints `warning: MESSAGE` on stderr (whatever `--output`: stdout keeps its one result);
    /// `-q` suppresses it.
    pub fn warn(&self, message: &str) {
        if self.quiet {
            return;
        }
        let text = format!("{} {message}\n", self.stderr_style.warning("warning:"));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }

    /// Prints an error: text on stderr, or an `ErrorResponse` on stdout with `--output json`.
    pub fn error(&self, err: &CliError) {
        match self.format {
            OutputFormat::Json => {
                // Nothing sensible is left to do if stdout is gone too.
                let _ = self.json(&err.to_error_response());
            }
            OutputFormat::Text => {
                let text = render_diagnostic_text(err, self.stderr_style);
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
        }
    }
}

/// Whether stdout is a pipe whose reader is gone (`hyops logs R --follow | grep -m1 x` after
/// grep exited): a follower stops then instead of polling until the attempt ends.
pub fn stdout_reader_gone() -> bool {
    #[cfg(unix)]
    {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let stdout = std::io::stdout();
        let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::POLLOUT)];
        if poll(&mut fds, PollTimeout::ZERO).is_ok() {
            return fds[0]
                .revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP));
        }
    }
    false
}

/// Writes one line to stderr. A reader that went away (`hyops run X 2>&1 | head -1`) is ignored:
/// never `eprintln!`, which panics then (and a panic in progress output killed a run mid-attempt).
pub fn stderr_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(line.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}

/// Writes to stdout. A reader that went away (`hyops ... | head`) is not an error: there is nobody
/// left to tell, and exiting quietly is what every Unix filter does.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e)),
    }
}

/// Renders any diagnostic for a terminal. Diagnostics that point into a source file get miette's
/// graphical snippet; plain ones read like cargo's: `error: ...`, causes, then `help: ...`.
pub fn render_diagnostic_text(diag: &dyn Diagnostic, style: Style) -> String {
    let has_snippet =
        diag.source_code().is_some() && diag.labels().is_some_and(|mut l| l.next().is_some());
    if has_snippet {
        let theme = if style.enabled() {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let mut out = String::new();
        if GraphicalReportHandler::new_themed(theme)
            .render_report(&mut out, diag)
            .is_ok()
        {
            return out;
        }
    }
    let (message, help) = message_and_help(diag);
    let mut out = format!("{} {message}\n", style.error("error:"));
    // Messages often end with their source's text (`failed to X: <io error>`): a cause the line
    // above already says is not repeated.
    let mut said = message;
    for cause in causes(diag) {
        if said.contains(&cause) {
            continue;
        }
        out.push_str(&format!("  {} {cause}\n", style.dim("caused by:")));
        said = cause;
    }
    if let Some(help) = help {
        out.push_str(&format!("\n{} {help}\n", style.help("help:")));
    }
    out
}

/// The diagnostic's message and help. A message whose last lines are its help (`…\nhelp: …`, as
/// the engine's errors carry it) is split into the two.
fn message_and_help(diag: &dyn Diagnostic) -> (String, Option<String>) {
    let message = diag.to_string();
    if let Some(help) = diag.help() {
        return (message, Some(help.to_string()));
    }
    match message.split_once("\nhelp: ") {
        Some((text, help)) => (text.to_owned(), Some(help.to_owned())),
        None => (message, None),
    }
}

/// Converts any diagnostic into the wire error: code, message, help, `file:line:col` of the first
/// label, and the cause chain under `details.caused_by` (message and help as
/// [`message_and_help`] splits them).
pub fn error_response(diag: &dyn Diagnostic) -> ErrorResponse {
    let mut details = BTreeMap::new();
    let chain: Vec<serde_json::Value> = causes(diag).into_iter().map(Into::into).collect();
    if !chain.is_empty() {
        details.insert("caused_by".to_string(), serde_json::Value::Array(chain));
    }
    let (message, help) = message_and_help(diag);
    ErrorResponse {
        code: diag
            .code()
            .map_or_else(|| "hyops::error".to_string(), |c| c.to_string()),
        message,
        help,
        location: location(diag),
        details,
    }
}

/// Messages of the `#[source]` chain below the diagnostic itself.
fn causes(diag: &dyn Diagnostic) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = diag.source();
    while let Some(err) = next {
        out.push(err.to_string());
        next = err.source();
    }
    out
}

/// `file:line:col` (1-based) of the diagnostic's first label, when it has one.
fn location(diag: &dyn Diagnostic) -> Option<String> {
    let source = diag.source_code()?;
    let label = diag.labels()?.next()?;
    let span = source.read_span(label.inner(), 0, 0).ok()?;
    let name = span.name().unwrap_or("<input>");
    Some(format!("{name}:{}:{}", span.line() + 1, span.column() + 1))
}

impl CliError {
    /// The wire form of this error, with structured details where the variant has them.
    pub fn to_error_response(&self) -> ErrorResponse {
        let mut response = error_response(self);
        if let CliError::NoSuchCommand { name, suggestions } = self {
            response
                .details
                .insert("command".to_string(), name.clone().into());
            response
                .details
                .insert("suggestions".to_string(), suggestions.clone().into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("bad value")]
    #[diagnostic(code(test::bad), help("use a good one"))]
    struct Spanned {
        #[source_code]
        src: miette::NamedSource<String>,
        #[label("here")]
        at: miette::SourceSpan,
    }

    #[test]
    fn error_response_carries_code_help_and_location() {
        let d = Spanned {
            src: miette::NamedSource::new("modules/a/module.yaml", "a: 1\nb: oops\n".to_string()),
            at: (8, 4).into(),
        };
        let r = error_response(&d);
        assert_eq!(r.code, "test::bad");
        assert_eq!(r.help.as_deref(), Some("use a good one"));
        assert_eq!(r.location.as_deref(), Some("modules/a/module.yaml:2:4"));
        let text = render_diagnostic_text(&d, Style::new(false));
        assert!(text.contains("modules/a/module.yaml:2:4"), "{text}");
        assert!(text.contains("use a good one"), "{text}");
    }

    #[test]
    fn a_help_line_inside_the_message_becomes_the_help_field() {
        #[derive(Debug, thiserror::Error, miette::Diagnostic)]
        #[error(
            "secret `t` is bound to environment variable `T`, which is not set\nhelp: export T=… first"
        )]
        #[diagnostic(code(test::inline))]
        struct Inline;
        let r = error_response(&Inline);
        assert_eq!(
            r.message,
            "secret `t` is bound to environment variable `T`, which is not set"
        );
        assert_eq!(r.help.as_deref(), Some("export T=… first"));
    }

    #[test]
    fn a_cause_the_message_already_says_is_not_repeated() {
        #[derive(Debug, thiserror::Error, miette::Diagnostic)]
        #[error("failed to open the ledger: {0}")]
        struct Open(#[source] Lock);
        #[derive(Debug, thiserror::Error)]
        #[error("failed to lock the ledger /s/ledger.sqlite.lock")]
        struct Lock(#[source] std::io::Error);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let text = render_diagnostic_text(&Open(Lock(denied)), Style::new(false));
        assert_eq!(
            text,
            "error: failed to open the ledger: failed to lock the ledger /s/ledger.sqlite.lock\n  caused by: permission denied\n"
        );
    }

    #[test]
    fn plain_errors_read_like_cargo() {
        let e = CliError::NoSuchCommand {
            name: "helo".into(),
            suggestions: vec!["hello".into()],
        };
        assert_eq!(
            render_diagnostic_text(&e, Style::new(false)),
            "error: no such command: `helo`\n\nhelp: a command with a similar name exists: `hello`\n"
        );
    }
}
