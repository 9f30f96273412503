//! `hsm role check`: does a principal hold what the next ceremony step needs?

use std::ffi::OsStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::Args;
use sdctl::hsm::rbac::check::{self, Step};
use sdctl::hsm::rbac::{check_principal, ACTION_PREFIX};
use sdctl::Error;

use super::print;
use super::Connection;
use super::Spinner;
use crate::cli::Reporter;

/// Arguments of `hsm role check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    conn: Connection,
    // The step to check (repeatable); the help names the default steps.
    #[arg(long = "for", value_name = "STEP", value_parser = StepParser, help = steps_help())]
    steps: Vec<Step>,
    /// Check this principal (object id) instead of the signed-in one.
    #[arg(long, value_name = "OBJECT_ID")]
    assignee: Option<String>,
}

/// The help of `--for`: the default is every security-domain step.
fn steps_help() -> String {
    let names: Vec<&str> = Step::SECURITY_DOMAIN.iter().map(|s| s.name()).collect();
    format!(
        "The step to check (repeatable); default: every security-domain step ({})",
        names.join(", ")
    )
}

/// `--for` of `role check`: the names and needs of [`Step`], as the library defines them.
#[derive(Clone)]
struct StepParser;

impl StepParser {
    /// What the step is and the data actions it needs, and where (`hsm download:
    /// securitydomain/download/action, securitydomain/download/read at /`).
    fn help(step: Step) -> String {
        let needs = step.needs();
        let short = |a: &str| a.strip_prefix(ACTION_PREFIX).unwrap_or(a).to_owned();
        let mut scopes: Vec<String> = needs.iter().map(|(_, s)| s.to_string()).collect();
        scopes.dedup();
        let actions: Vec<String> = match scopes.as_slice() {
            [one] => vec![format!(
                "{} at {one}",
                needs
                    .iter()
                    .map(|(a, _)| short(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            _ => needs
                .iter()
                .map(|(a, s)| format!("{} at {s}", short(a)))
                .collect(),
        };
        format!("{}: {}", step.command(), actions.join(", "))
    }
}

impl TypedValueParser for StepParser {
    type Value = Step;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Step, clap::Error> {
        let names = PossibleValuesParser::new(Step::ALL.map(Step::name));
        let name = names.parse_ref(cmd, arg, value)?;
        Step::parse(&name).map_err(|e| clap::Error::raw(ErrorKind::InvalidValue, e).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            Step::ALL
                .into_iter()
                .map(|s| PossibleValue::new(s.name()).help(Self::help(s))),
        ))
    }
}

/// `hsm role check`.
pub async fn run(rep: &mut Reporter, args: CheckArgs) -> Result<i32, Error> {
    if let Some(a) = &args.assignee {
        check_principal(a)?;
    }
    let spinner = Spinner::new(rep, "reading role assignments and definitions");
    let client = args.conn.client(rep, &spinner)?;
    let report = check::check(&client, &args.steps, args.assignee.as_deref()).await?;
    spinner.done();
    for role in &report.unresolved_roles {
        rep.warn(format!("the principal holds role {role}, whose definition could not be read; what it grants is not counted"));
    }
    Ok(rep.finish(&report, report.passed, || print::check(&report)))
}
