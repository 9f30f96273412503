//! A spinner on stderr while the HSM works: the operation's state and the elapsed time.
//! Hidden when stderr is not a terminal or output is JSON; notes (retries) are printed
//! on stderr either way.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sdctl::hsm::client::Notify;
use sdctl::hsm::OperationStatus;

use crate::cli::Reporter;

/// The spinner of one command.
#[derive(Clone)]
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    /// A spinner showing `message`, drawn only for people at a terminal.
    pub fn new(rep: &Reporter, message: &str) -> Spinner {
        let bar = if rep.human() && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(message.to_owned());
        Spinner { bar }
    }

    /// Shows a new state.
    pub fn set(&self, message: String) {
        self.bar.set_message(message);
    }

    /// The callback the client uses for notes: printed above the spinner on stderr.
    pub fn notifier(&self) -> Notify {
        let bar = self.bar.clone();
        Arc::new(move |note: &str| bar.suspend(|| eprintln!("sdctl: {note}")))
    }

    /// A progress callback for waits: "download: InProgress (12 s)".
    pub fn operation<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Fn(&OperationStatus, Duration) + Sync + 'a {
        move |status, elapsed| {
            self.set(format!(
                "{name}: {} after {:.0} s",
                status.status,
                elapsed.as_secs_f64()
            ))
        }
    }

    /// Removes the spinner.
    pub fn done(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
