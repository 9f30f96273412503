//! `hsm role definition list | show | create | delete`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sdctl::files::read_bounded_nonempty;
use sdctl::hsm::rbac::{self, is_guid, resolve_role, RoleDefinition};
use sdctl::hsm::{HsmClient, HsmError};
use sdctl::Error;
use serde::Serialize;

use super::print;
use super::Connection;
use super::Spinner;
use crate::cli::Reporter;

/// `hsm role definition ...`.
#[derive(Subcommand, Debug)]
pub enum DefinitionCommand {
    /// List role definitions (built-in and custom).
    #[command(after_help = "Examples:
  sdctl hsm role definition list --hsm-name contoso
  sdctl hsm role definition list --hsm-name contoso --custom")]
    List(DefinitionListArgs),
    /// Show one role definition with its permissions.
    #[command(after_help = "Examples:
  sdctl hsm role definition show --hsm-name contoso \\
      --name \"Managed HSM Administrator\"")]
    Show(DefinitionShowArgs),
    /// Create (or, with --name of an existing custom role, replace) a custom role.
    #[command(after_help = "Examples:
  sdctl hsm role definition create --hsm-name contoso \\
      --role-definition role.json
  sdctl hsm role definition create --hsm-name contoso --name ROLE_GUID \\
      --role-definition role.json")]
    Create(DefinitionCreateArgs),
    /// Delete a custom role (the HSM refuses while it is assigned).
    #[command(after_help = "Examples:
  sdctl hsm role definition delete --hsm-name contoso --name ROLE_GUID")]
    Delete(DefinitionDeleteArgs),
}

impl DefinitionCommand {
    /// The command's name for the JSON envelope.
    pub fn name(&self) -> &'static str {
        match self {
            DefinitionCommand::List(_) => "hsm role definition list",
            DefinitionCommand::Show(_) => "hsm role definition show",
            DefinitionCommand::Create(_) => "hsm role definition create",
            DefinitionCommand::Delete(_) => "hsm role definition delete",
        }
    }

    /// Runs the subcommand.
    pub async fn run(self, rep: &mut Reporter) -> Result<i32, Error> {
        match self {
            DefinitionCommand::List(a) => definition_list(rep, a).await,
            DefinitionCommand::Show(a) => definition_show(rep, a).await,
            DefinitionCommand::Create(a) => definition_create(rep, a).await,
            DefinitionCommand::Delete(a) => definition_delete(rep, a).await,
        }
    }
}

/// Arguments of `hsm role definition list`.
#[derive(Args, Debug)]
pub struct DefinitionListArgs {
    #[command(flatten)]
    conn: Connection,
    /// Only custom roles.
    #[arg(long)]
    custom: bool,
}

/// Arguments of `hsm role definition show`.
#[derive(Args, Debug)]
pub struct DefinitionShowArgs {
    #[command(flatten)]
    conn: Connection,
    /// The role's GUID, id or name.
    #[arg(long, value_name = "GUID")]
    name: String,
}

/// Arguments of `hsm role definition create`.
#[derive(Args, Debug)]
pub struct DefinitionCreateArgs {
    #[command(flatten)]
    conn: Connection,
    /// A JSON file: {"properties": {"roleName", "description", "assignableScopes": ["/"],
    /// "permissions": [{"dataActions": [...], "notDataActions": [...]}]}}, or the Azure
    /// CLI's flat {"roleName", "description", "dataActions", "notDataActions"}.
    #[arg(long, value_name = "FILE")]
    role_definition: PathBuf,
    /// The role's GUID (default: a new one). An existing custom role's GUID replaces it.
    #[arg(long, value_name = "GUID")]
    name: Option<String>,
}

/// Arguments of `hsm role definition delete`.
#[derive(Args, Debug)]
pub struct DefinitionDeleteArgs {
    #[command(flatten)]
    conn: Connection,
    /// The custom role's GUID, id or name.
    #[arg(long, value_name = "GUID")]
    name: String,
}
/// `hsm role definition list`.
async fn definition_list(rep: &mut Reporter, args: DefinitionListArgs) -> Result<i32, Error> {
    let spinner = Spinner::new(rep, "reading role definitions");
    let client = args.conn.client(rep, &spinner)?;
    let mut definitions = rbac::list_definitions(&client).await?;
    spinner.done();
    definitions.retain(|d| !args.custom || d.is_custom());
    #[derive(Serialize)]
    struct Listed {
        definitions: Vec<RoleDefinition>,
    }
    let result = Listed { definitions };
    Ok(rep.finish(&result, true, || print::definitions(&result.definitions)))
}

/// The definition `--name` names: by GUID directly, otherwise through the list.
async fn find_definition(client: &HsmClient, name: &str) -> Result<RoleDefinition, HsmError> {
    let guid = rbac::last_segment(name);
    if is_guid(guid) {
        return rbac::get_definition(client, guid).await;
    }
    let definitions = rbac::list_definitions(client).await?;
    resolve_role(&definitions, name).cloned()
}

/// `hsm role definition show`.
async fn definition_show(rep: &mut Reporter, args: DefinitionShowArgs) -> Result<i32, Error> {
    let spinner = Spinner::new(rep, "reading the role definition");
    let client = args.conn.client(rep, &spinner)?;
    let definition = find_definition(&client, &args.name).await?;
    spinner.done();
    Ok(rep.finish(&definition, true, || print::definition(&definition)))
}

/// `hsm role definition create`.
async fn definition_create(rep: &mut Reporter, args: DefinitionCreateArgs) -> Result<i32, Error> {
    args.conn.check_hosts(None)?;
    let bytes = read_bounded_nonempty(&args.role_definition, 1024 * 1024, "a role definition")?;
    let body = rbac::parse_definition_body(&args.role_definition.display().to_string(), &bytes)?;
    if let Some(n) = &args.name {
        if !is_guid(n) {
            return Err(HsmError::Usage(format!(
                "--name '{n}': a role definition's name is a GUID"
            ))
            .into());
        }
    }
    let spinner = Spinner::new(rep, "creating the role definition");
    let client = args.conn.client(rep, &spinner)?;
    let definitions = rbac::list_definitions(&client).await?;
    let existing = args
        .name
        .as_ref()
        .and_then(|n| definitions.iter().find(|d| d.name.eq_ignore_ascii_case(n)));
    if let Some(d) = existing.filter(|d| !d.is_custom()) {
        return Err(HsmError::Usage(format!(
            "'{}' ({}) is a built-in role and cannot be changed",
            d.role_name, d.name
        ))
        .into());
    }
    if let Some(twin) = definitions.iter().find(|d| {
        d.role_name.eq_ignore_ascii_case(&body.role_name)
            && existing.is_none_or(|e| !e.name.eq_ignore_ascii_case(&d.name))
    }) {
        return Err(HsmError::Usage(format!(
            "a role named '{}' exists already ({}); to replace it pass --name {}, or choose another roleName",
            twin.role_name, twin.name, twin.name
        ))
        .into());
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => rbac::new_guid()?,
    };
    let definition = rbac::put_definition(&client, &name, &body).await?;
    spinner.done();
    #[derive(Serialize)]
    struct Created {
        created: bool,
        definition: RoleDefinition,
    }
    let result = Created {
        created: existing.is_none(),
        definition,
    };
    Ok(rep.finish(&result, true, || {
        let verb = if result.created {
            "Created"
        } else {
            "Replaced"
        };
        println!(
            "{verb} the custom role \"{}\" ({}).",
            result.definition.role_name, result.definition.name
        );
        print::definition(&result.definition);
    }))
}

/// `hsm role definition delete`.
async fn definition_delete(rep: &mut Reporter, args: DefinitionDeleteArgs) -> Result<i32, Error> {
    let spinner = Spinner::new(rep, "deleting the role definition");
    let client = args.conn.client(rep, &spinner)?;
    let found = match find_definition(&client, &args.name).await {
        Ok(d) => Some(d),
        Err(HsmError::Forbidden { .. }) if is_guid(rbac::last_segment(&args.name)) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(d) = found.as_ref().filter(|d| !d.is_custom()) {
        return Err(HsmError::Usage(format!(
            "'{}' ({}) is a built-in role and cannot be deleted",
            d.role_name, d.name
        ))
        .into());
    }
    let guid = found
        .as_ref()
        .map(|d| d.name.clone())
        .unwrap_or_else(|| rbac::last_segment(&args.name).to_owned());
    let gone = rbac::delete_definition(&client, &guid).await?;
    spinner.done();
    #[derive(Serialize)]
    struct Deleted {
        deleted: String,
        role_name: Option<String>,
    }
    let result = Deleted {
        role_name: gone.or(found).map(|d| d.role_name),
        deleted: guid,
    };
    Ok(rep.finish(&result, true, || {
        println!(
            "Deleted the custom role \"{}\" ({}).",
            result.role_name.as_deref().unwrap_or("?"),
            result.deleted
        )
    }))
}
