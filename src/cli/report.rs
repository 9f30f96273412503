//! Printing results and failures: text for people, or one JSON envelope on stdout.
//!
//! The JSON shape is stable: `{"sdctl_output": 1, "command": "...", "status":
//! "ok"|"check_failed"|"error", "exit_code": N, "warnings": [...], "result": {...}|null,
//! "error": {"message": "..."}|null}`. Errors are also one line on stderr in both modes.

use std::io::Write;

use sdctl::ExitCode;
use serde::Serialize;

use super::OutputFormat;

/// Collects warnings and prints the outcome of one command.
pub struct Reporter {
    format: OutputFormat,
    command: &'static str,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    sdctl_output: u32,
    command: &'a str,
    status: &'static str,
    exit_code: i32,
    warnings: &'a [String],
    result: Option<T>,
    error: Option<ErrorBody>,
}

#[derive(Serialize)]
struct ErrorBody {
    message: String,
}

impl Reporter {
    /// A reporter for `command` ("keys generate").
    pub fn new(format: OutputFormat, command: &'static str) -> Self {
        Reporter {
            format,
            command,
            warnings: Vec::new(),
        }
    }

    /// Whether output is for people.
    pub fn human(&self) -> bool {
        self.format == OutputFormat::Human
    }

    /// Prints a warning on stderr now and keeps it for the JSON envelope.
    pub fn warn(&mut self, message: impl Into<String>) {
        let message = one_line(&message.into());
        eprintln!("sdctl: warning: {message}");
        self.warnings.push(message);
    }

    /// Finishes with a result: `human` prints it for people; JSON mode prints the envelope.
    /// `passed` false means a check failed (exit 1).
    pub fn finish<T: Serialize>(&self, result: &T, passed: bool, human: impl FnOnce()) -> i32 {
        let code = if passed {
            ExitCode::Ok
        } else {
            ExitCode::CheckFailed
        };
        match self.format {
            OutputFormat::Human => human(),
            OutputFormat::Json => self.print_envelope(Some(result), None, code),
        }
        code.code()
    }

    /// Says why a check failed (exit 1): one line on stderr, in both modes, like an error.
    pub fn check_failed(&self, message: &str) {
        eprintln!("sdctl: {}", one_line(message));
    }

    /// Finishes with a failure: one line on stderr, and the envelope in JSON mode.
    pub fn fail(&self, error: &sdctl::Error) -> i32 {
        let message = one_line(&error.to_string());
        eprintln!("sdctl: {message}");
        let code = error.exit_code();
        if self.format == OutputFormat::Json {
            self.print_envelope::<()>(None, Some(ErrorBody { message }), code);
        }
        code.code()
    }

    fn print_envelope<T: Serialize>(
        &self,
        result: Option<&T>,
        error: Option<ErrorBody>,
        code: ExitCode,
    ) {
        let status = match code {
            ExitCode::Ok => "ok",
            ExitCode::CheckFailed => "check_failed",
            _ => "error",
        };
        let envelope = Envelope {
            sdctl_output: 1,
            command: self.command,
            status,
            exit_code: code.code(),
            warnings: &self.warnings,
            result,
            error,
        };
        let mut out = std::io::stdout().lock();
        // A closed stdout cannot be reported anywhere better than the exit code.
        let _ = serde_json::to_writer_pretty(&mut out, &envelope);
        let _ = writeln!(out);
    }
}

/// Longest message printed whole, in characters.
const MAX_MESSAGE_CHARS: usize = 600;

/// Folds a message onto one line (OpenSSL reasons may carry newlines) of a readable length:
/// parsers quote the input they refuse, and a hostile file can make that quote megabytes
/// long. The start (the file and the problem) and the end (what was expected) are kept.
fn one_line(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_MESSAGE_CHARS {
        return line;
    }
    let (head, tail) = (MAX_MESSAGE_CHARS * 2 / 3, MAX_MESSAGE_CHARS / 4);
    let left_out = chars.len() - head - tail;
    format!(
        "{} [... {left_out} characters left out ...] {}",
        chars[..head].iter().collect::<String>(),
        chars[chars.len() - tail..].iter().collect::<String>()
    )
}
