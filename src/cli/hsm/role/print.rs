//! Text output of `hsm role ...`: tables that show role names, not only GUIDs.

use sdctl::hsm::rbac::check::CheckReport;
use sdctl::hsm::rbac::{AssignOutcome, RoleDefinition, SdOfficerOutcome, ACTION_PREFIX};

use super::AssignmentView;
use crate::cli::table::Table;

/// `Microsoft.KeyVault/managedHsm/keys/read/action` → `keys/read/action`.
fn short(action: &str) -> &str {
    if action.len() > ACTION_PREFIX.len()
        && action[..ACTION_PREFIX.len()].eq_ignore_ascii_case(ACTION_PREFIX)
    {
        &action[ACTION_PREFIX.len()..]
    } else {
        action
    }
}

fn role_label(name: Option<&str>, guid: &str) -> String {
    match name {
        Some(n) => n.to_owned(),
        None if guid.is_empty() => "-".to_owned(),
        None => guid.to_owned(),
    }
}

/// A table of assignments.
pub fn assignments(rows: &[AssignmentView]) {
    if rows.is_empty() {
        println!("No role assignments.");
        return;
    }
    let mut table = Table::new(&["role", "principal", "scope", "assignment"]);
    for v in rows {
        let a = &v.assignment;
        table.row(vec![
            role_label(v.role_name.as_deref(), a.role_guid()),
            a.principal_id.clone(),
            a.scope.clone(),
            a.name.clone(),
        ]);
    }
    print!("{}", table.render(0));
}

/// The outcome of `role assign`.
pub fn assigned(o: &AssignOutcome) {
    let a = &o.assignment;
    if o.created {
        println!(
            "Assigned \"{}\" to {} at scope {} (assignment {}).",
            o.role_name, a.principal_id, a.scope, a.name
        );
    } else {
        println!(
            "{} already holds \"{}\" at scope {} (assignment {}); nothing changed.",
            a.principal_id, o.role_name, a.scope, a.name
        );
    }
}

/// A table of definitions.
pub fn definitions(rows: &[RoleDefinition]) {
    if rows.is_empty() {
        println!("No role definitions.");
        return;
    }
    let mut table = Table::new(&["role", "type", "guid", "data actions"]);
    for d in rows {
        let actions: Vec<&str> = d.data_actions().map(short).collect();
        let summary = match actions.len() {
            0 => "-".to_owned(),
            1..=2 => actions.join(", "),
            n => format!("{}, ... ({n} in all)", actions[..2].join(", ")),
        };
        table.row(vec![
            d.role_name.clone(),
            if d.is_custom() { "custom" } else { "built-in" }.to_owned(),
            d.name.clone(),
            summary,
        ]);
    }
    print!("{}", table.render(0));
    println!("Data actions are under {ACTION_PREFIX}; 'sdctl hsm role definition show --name GUID' shows all of a role's.");
}

/// One definition with its permissions.
pub fn definition(d: &RoleDefinition) {
    println!("Role:        {}", d.role_name);
    println!("GUID:        {}", d.name);
    println!("Id:          {}", d.id);
    println!(
        "Type:        {}",
        if d.is_custom() {
            "custom (CustomRole)".to_owned()
        } else {
            format!("built-in ({})", d.role_type)
        }
    );
    if !d.description.is_empty() {
        println!("Description: {}", d.description);
    }
    println!("Assignable:  {}", d.assignable_scopes.join(", "));
    for (i, p) in d.permissions.iter().enumerate() {
        if d.permissions.len() > 1 {
            println!("Permissions block {}:", i + 1);
        }
        for (label, list) in [
            ("Data actions", &p.data_actions),
            ("Not data actions", &p.not_data_actions),
            ("Actions", &p.actions),
            ("Not actions", &p.not_actions),
        ] {
            if list.is_empty() && label != "Data actions" {
                continue;
            }
            println!("{label}:");
            if list.is_empty() {
                println!("  (none)");
            }
            for a in list {
                println!("  {a}");
            }
        }
    }
}

/// The outcome of `role create-sd-officer`.
pub fn sd_officer(o: &SdOfficerOutcome) {
    let d = &o.definition;
    if o.created {
        println!(
            "Created the custom role \"{}\" ({}) with only the security-domain data actions:",
            d.role_name, d.name
        );
    } else {
        println!(
            "The custom role \"{}\" ({}) exists already with exactly the security-domain data actions; nothing changed:",
            d.role_name, d.name
        );
    }
    for a in d.data_actions() {
        println!("  {a}");
    }
    match &o.assignment {
        Some(a) => assigned(a),
        None => println!(
            "Next: sdctl hsm role assign --role \"{}\" --assignee OBJECT_ID --scope /",
            d.role_name
        ),
    }
}

/// The report of `role check`; a failed one ends with the advice line.
pub fn check(r: &CheckReport) {
    let whom = if r.principal_from == "token" {
        "the signed-in principal"
    } else {
        "--assignee"
    };
    println!("Principal: {} ({whom})", r.principal);
    let steps: Vec<&str> = r.steps.iter().map(|s| s.name()).collect();
    println!("Steps:     {}", steps.join(", "));
    let mut table = Table::new(&["data action", "scope", "needed for", "status", "granted by"]);
    for row in &r.rows {
        let needed: Vec<&str> = row.needed_for.iter().map(|s| s.name()).collect();
        let mut by: Vec<String> = row
            .granted_by
            .iter()
            .map(|g| format!("{} (at {})", g.role_name, g.scope))
            .collect();
        by.dedup();
        table.row(vec![
            short(&row.action).to_owned(),
            row.scope.to_string(),
            needed.join(", "),
            if row.held { "held" } else { "MISSING" }.to_owned(),
            if by.is_empty() {
                "-".to_owned()
            } else {
                by.join("; ")
            },
        ]);
    }
    print!("{}", table.render(2));
    println!("  (data actions under {ACTION_PREFIX})");
    match &r.advice {
        None => println!("All {} data action(s) are held.", r.rows.len()),
        Some(line) => {
            println!("Roles given to groups the principal belongs to are not visible here; such a role may still grant what is missing.");
            println!("{line}");
        }
    }
}
