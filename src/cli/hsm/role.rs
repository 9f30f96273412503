//! `hsm role list | show | assign | delete | definition ... | create-sd-officer | check`:
//! parse, call `sdctl::hsm::rbac`, print (tables for people, the envelope with --output json).

use clap::{Args, Subcommand};
use sdctl::hsm::rbac::{
    self, check_principal, is_guid, resolve_role, role_name_of, role_names, scope_text_eq,
    RoleAssignment, RoleDefinition, Scope, SD_OFFICER_ROLE_NAME,
};
use sdctl::hsm::{HsmClient, HsmError};
use sdctl::Error;
use serde::Serialize;

use super::connect::Connection;
use super::progress::Spinner;
use crate::cli::Reporter;

mod check;
mod definition;
mod print;

/// Local RBAC of the HSM's data plane.
#[derive(Subcommand, Debug)]
pub enum RoleCommand {
    /// List role assignments (at / and /keys), with the roles' names.
    #[command(after_help = "Examples:
  sdctl hsm role list --hsm-name contoso
  sdctl hsm role list --hsm-name contoso --scope /keys --assignee OBJECT_ID")]
    List(ListArgs),
    /// Show one role assignment.
    #[command(after_help = "Examples:
  sdctl hsm role show --hsm-name contoso --name ASSIGNMENT_GUID")]
    Show(ShowArgs),
    /// Give a principal a role at a scope (nothing changes if it holds it there already).
    #[command(after_help = "Examples:
  sdctl hsm role assign --hsm-name contoso --role \"Managed HSM Crypto User\" \\
      --assignee OBJECT_ID --scope /keys")]
    Assign(AssignArgs),
    /// Delete role assignments: one by --name, or every assignment of --role to --assignee.
    #[command(after_help = "Examples:
  sdctl hsm role delete --hsm-name contoso --name ASSIGNMENT_GUID
  sdctl hsm role delete --hsm-name contoso --assignee OBJECT_ID \\
      --role \"Managed HSM Crypto User\"")]
    Delete(DeleteArgs),
    /// Role definitions: the built-in roles and custom ones.
    #[command(subcommand)]
    Definition(definition::DefinitionCommand),
    /// Create the least-privilege custom role for security-domain ceremonies: exactly the
    /// five securitydomain data actions (download/action, download/read, transferkey/read,
    /// upload/action, upload/read), nothing else. Idempotent: an equal role of that name is
    /// reported, not duplicated; one with other actions is refused.
    #[command(
        name = "create-sd-officer",
        after_help = "Examples:
  sdctl hsm role create-sd-officer --hsm-name contoso
  sdctl hsm role create-sd-officer --hsm-name contoso --assignee OBJECT_ID"
    )]
    CreateSdOfficer(SdOfficerArgs),
    /// Check whether a principal (default: the signed-in one) holds the data actions a
    /// ceremony step needs; exit 1 and name the first missing action if not. Needs
    /// permission to read role assignments and definitions; without it, an HSM
    /// administrator can run the check with --assignee.
    #[command(after_help = "Examples:
  sdctl hsm role check --hsm-name contoso
  sdctl hsm role check --hsm-name contoso-dr --for init-recovery --for upload
  sdctl hsm role check --hsm-name contoso --assignee OBJECT_ID --for download")]
    Check(check::CheckArgs),
}

/// Arguments of `hsm role list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    conn: Connection,
    /// Only assignments at this scope: / (whole HSM), /keys, or /keys/KEYNAME.
    #[arg(long, value_name = "SCOPE")]
    scope: Option<String>,
    /// Only assignments to this principal (object id).
    #[arg(long, value_name = "OBJECT_ID")]
    assignee: Option<String>,
    /// Only assignments of this role (name, GUID or id).
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
}

/// Arguments of `hsm role show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    conn: Connection,
    /// The assignment's name (a GUID, as 'role list' shows it).
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The assignment's scope.
    #[arg(long, value_name = "SCOPE", default_value = "/")]
    scope: String,
}

/// Arguments of `hsm role assign`.
#[derive(Args, Debug)]
pub struct AssignArgs {
    #[command(flatten)]
    conn: Connection,
    /// The role: its name ("Managed HSM Crypto User", any case), GUID, or id.
    #[arg(long, value_name = "ROLE")]
    role: String,
    /// The principal's object id (user, group, service principal or managed identity).
    #[arg(long, value_name = "OBJECT_ID")]
    assignee: String,
    /// Where the role applies: / (whole HSM), /keys (every key) or /keys/KEYNAME.
    #[arg(long, value_name = "SCOPE", default_value = "/")]
    scope: String,
}

/// Arguments of `hsm role delete`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["name", "assignee"]))]
pub struct DeleteArgs {
    #[command(flatten)]
    conn: Connection,
    /// The assignment's name (a GUID, as 'role list' shows it).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["assignee", "role"])]
    name: Option<String>,
    /// Delete the assignments of --role to this principal (object id).
    #[arg(long, value_name = "OBJECT_ID", requires = "role")]
    assignee: Option<String>,
    /// The role of --assignee to take away (name, GUID or id).
    #[arg(long, value_name = "ROLE", requires = "assignee")]
    role: Option<String>,
    /// Only at this scope (default: the assignment's own scope, or every scope with
    /// --assignee).
    #[arg(long, value_name = "SCOPE")]
    scope: Option<String>,
}
/// Arguments of `hsm role create-sd-officer`.
#[derive(Args, Debug)]
pub struct SdOfficerArgs {
    #[command(flatten)]
    conn: Connection,
    /// The role's name.
    #[arg(long, value_name = "NAME", default_value = SD_OFFICER_ROLE_NAME)]
    role_name: String,
    /// The role's description (default: what it allows and what not).
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// Also assign the role to this principal (object id) at scope /.
    #[arg(long, value_name = "OBJECT_ID")]
    assignee: Option<String>,
}
/// The command's name for the JSON envelope.
pub fn command_name(cmd: &RoleCommand) -> &'static str {
    match cmd {
        RoleCommand::List(_) => "hsm role list",
        RoleCommand::Show(_) => "hsm role show",
        RoleCommand::Assign(_) => "hsm role assign",
        RoleCommand::Delete(_) => "hsm role delete",
        RoleCommand::Definition(d) => d.name(),
        RoleCommand::CreateSdOfficer(_) => "hsm role create-sd-officer",
        RoleCommand::Check(_) => "hsm role check",
    }
}

/// Runs a role subcommand.
pub async fn run(rep: &mut Reporter, cmd: RoleCommand) -> Result<i32, Error> {
    match cmd {
        RoleCommand::List(a) => list(rep, a).await,
        RoleCommand::Show(a) => show(rep, a).await,
        RoleCommand::Assign(a) => assign(rep, a).await,
        RoleCommand::Delete(a) => delete(rep, a).await,
        RoleCommand::Definition(d) => d.run(rep).await,
        RoleCommand::CreateSdOfficer(a) => create_sd_officer(rep, a).await,
        RoleCommand::Check(a) => check::run(rep, a).await,
    }
}

/// An assignment with its role's name.
#[derive(Serialize)]
pub struct AssignmentView {
    #[serde(flatten)]
    assignment: RoleAssignment,
    role_name: Option<String>,
}

fn views(assignments: Vec<RoleAssignment>, definitions: &[RoleDefinition]) -> Vec<AssignmentView> {
    let names = role_names(definitions);
    assignments
        .into_iter()
        .map(|a| AssignmentView {
            role_name: role_name_of(&names, &a),
            assignment: a,
        })
        .collect()
}

/// The role definitions, for showing role names; without permission to read them, a
/// warning and none.
async fn definitions_if_readable(
    rep: &mut Reporter,
    client: &HsmClient,
) -> Result<Vec<RoleDefinition>, HsmError> {
    match rbac::list_definitions(client).await {
        Ok(d) => Ok(d),
        Err(HsmError::Forbidden { .. }) => {
            rep.warn("role definitions are not readable (no roleDefinitions/read/action): roles are shown by GUID");
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

fn parse_scope(text: Option<&str>) -> Result<Option<Scope>, HsmError> {
    text.map(Scope::parse).transpose()
}

/// `hsm role list`.
async fn list(rep: &mut Reporter, args: ListArgs) -> Result<i32, Error> {
    let scope = parse_scope(args.scope.as_deref())?;
    if let Some(a) = &args.assignee {
        check_principal(a)?;
    }
    let spinner = Spinner::new(rep, "reading role assignments");
    let client = args.conn.client(rep, &spinner)?;
    let assignments = match &scope {
        Some(s) => rbac::list_assignments(&client, s).await?,
        None => rbac::list_all_assignments(&client).await?,
    };
    let definitions = definitions_if_readable(rep, &client).await?;
    spinner.done();
    let role = match &args.role {
        Some(r) if definitions.is_empty() && is_guid(rbac::last_segment(r)) => {
            Some(rbac::last_segment(r).to_owned())
        }
        Some(r) => Some(resolve_role(&definitions, r)?.name.clone()),
        None => None,
    };
    let mut shown: Vec<RoleAssignment> = assignments
        .into_iter()
        .filter(|a| scope.as_ref().is_none_or(|s| scope_text_eq(&a.scope, s)))
        .filter(|a| {
            args.assignee
                .as_ref()
                .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
        })
        .filter(|a| {
            role.as_ref()
                .is_none_or(|g| a.role_guid().eq_ignore_ascii_case(g))
        })
        .collect();
    shown.sort_by(|a, b| (&a.scope, &a.principal_id).cmp(&(&b.scope, &b.principal_id)));
    #[derive(Serialize)]
    struct Listed {
        assignments: Vec<AssignmentView>,
    }
    let result = Listed {
        assignments: views(shown, &definitions),
    };
    Ok(rep.finish(&result, true, || print::assignments(&result.assignments)))
}

/// `hsm role show`.
async fn show(rep: &mut Reporter, args: ShowArgs) -> Result<i32, Error> {
    let scope = Scope::parse(&args.scope)?;
    rbac::check_name(&args.name)?;
    let spinner = Spinner::new(rep, "reading the role assignment");
    let client = args.conn.client(rep, &spinner)?;
    let assignment = rbac::get_assignment(&client, &scope, &args.name).await?;
    let definitions = definitions_if_readable(rep, &client).await?;
    spinner.done();
    let view = views(vec![assignment], &definitions).remove(0);
    Ok(rep.finish(&view, true, || {
        print::assignments(std::slice::from_ref(&view))
    }))
}

/// `hsm role assign`.
async fn assign(rep: &mut Reporter, args: AssignArgs) -> Result<i32, Error> {
    let scope = Scope::parse(&args.scope)?;
    check_principal(&args.assignee)?;
    let spinner = Spinner::new(rep, "assigning the role");
    let client = args.conn.client(rep, &spinner)?;
    let definitions = rbac::list_definitions(&client).await?;
    let definition = resolve_role(&definitions, &args.role)?;
    let outcome = rbac::assign_role(&client, &scope, definition, &args.assignee).await?;
    spinner.done();
    Ok(rep.finish(&outcome, true, || print::assigned(&outcome)))
}

/// `hsm role delete`.
async fn delete(rep: &mut Reporter, args: DeleteArgs) -> Result<i32, Error> {
    let scope = parse_scope(args.scope.as_deref())?;
    if let Some(a) = &args.assignee {
        check_principal(a)?;
    }
    if let Some(n) = &args.name {
        rbac::check_name(n)?;
    }
    let spinner = Spinner::new(rep, "deleting role assignments");
    let client = args.conn.client(rep, &spinner)?;
    let all = match rbac::list_all_assignments(&client).await {
        Ok(all) => Some(all),
        Err(HsmError::Forbidden { .. }) if args.name.is_some() => None,
        Err(e) => return Err(e.into()),
    };
    let definitions = definitions_if_readable(rep, &client).await?;
    let mut targets: Vec<(Scope, String)> = Vec::new();
    match (&args.name, &args.assignee, &args.role) {
        (Some(name), _, _) => {
            let found = all
                .iter()
                .flatten()
                .find(|a| a.name.eq_ignore_ascii_case(name));
            let at = match (&scope, found) {
                (Some(s), _) => s.clone(),
                (None, Some(a)) => Scope::parse(&a.scope).unwrap_or(Scope::Hsm),
                (None, None) => Scope::Hsm,
            };
            targets.push((at, name.clone()));
        }
        (None, Some(principal), Some(role)) => {
            let guid = resolve_role(&definitions, role)?.name.clone();
            for a in all.iter().flatten().filter(|a| {
                a.principal_id.eq_ignore_ascii_case(principal)
                    && a.role_guid().eq_ignore_ascii_case(&guid)
                    && scope.as_ref().is_none_or(|s| scope_text_eq(&a.scope, s))
            }) {
                targets.push((Scope::parse(&a.scope)?, a.name.clone()));
            }
            if targets.is_empty() {
                let at = scope.map(|s| format!(" at scope {s}")).unwrap_or_default();
                return Err(HsmError::Usage(format!(
                    "{principal} holds no assignment of role '{role}'{at}; 'sdctl hsm role list --assignee {principal}' shows what it holds"
                ))
                .into());
            }
        }
        _ => return Err(HsmError::Usage("give --name, or --assignee with --role".into()).into()),
    }
    let mut deleted = Vec::new();
    for (at, name) in targets {
        let gone = rbac::delete_assignment(&client, &at, &name).await?;
        let known = all
            .iter()
            .flatten()
            .find(|a| a.name.eq_ignore_ascii_case(&name))
            .cloned();
        deleted.push(gone.or(known).unwrap_or(RoleAssignment {
            id: String::new(),
            name,
            scope: at.to_string(),
            role_definition_id: String::new(),
            principal_id: String::new(),
        }));
    }
    spinner.done();
    #[derive(Serialize)]
    struct Deleted {
        deleted: Vec<AssignmentView>,
    }
    let result = Deleted {
        deleted: views(deleted, &definitions),
    };
    Ok(rep.finish(&result, true, || {
        println!("Deleted {} role assignment(s):", result.deleted.len());
        print::assignments(&result.deleted);
    }))
}
/// `hsm role create-sd-officer`.
async fn create_sd_officer(rep: &mut Reporter, args: SdOfficerArgs) -> Result<i32, Error> {
    if let Some(a) = &args.assignee {
        check_principal(a)?;
    }
    let spinner = Spinner::new(rep, "creating the security-domain officer role");
    let client = args.conn.client(rep, &spinner)?;
    let outcome = rbac::create_sd_officer(
        &client,
        args.role_name.trim(),
        args.description.as_deref(),
        args.assignee.as_deref(),
    )
    .await?;
    spinner.done();
    Ok(rep.finish(&outcome, true, || print::sd_officer(&outcome)))
}
