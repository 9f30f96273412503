//! What a full backup holds: the [`Hsm`] as JSON minus the fields that belong to the HSM
//! itself rather than to its contents, so that whatever is added to `Hsm` travels in a
//! backup; and putting a backup's contents, or one key of it, back.

use serde_json::Value;

use crate::emulator::http::ApiError;
use crate::emulator::state::Hsm;

/// Fields of [`Hsm`] a backup leaves out: the HSM's identity and ARM fields, its
/// activation and security-domain state, and its running operations. Everything else
/// (keys, roles, settings, and whatever is added to `Hsm` later) travels in a backup.
pub const NOT_BACKED_UP: [&str; 13] = [
    "name",
    "subscription",
    "resource_group",
    "tenant_id",
    "initial_admin_object_ids",
    "sku",
    "activation",
    "blobs",
    "transfer_key",
    "download",
    "upload",
    "jobs",
    "operations",
];

/// The backed-up part of `hsm`: its JSON form minus [`NOT_BACKED_UP`].
pub fn snapshot(hsm: &Hsm) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(hsm).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(fields) = value.as_object_mut() {
        for field in NOT_BACKED_UP {
            fields.remove(field);
        }
    }
    Ok(value)
}

/// Replaces the backed-up fields of `hsm` with those of `snapshot` (fields the snapshot
/// lacks keep their value); a snapshot that does not fit leaves `hsm` unchanged.
pub fn apply_snapshot(hsm: &mut Hsm, snapshot: &Value) -> Result<(), ApiError> {
    let mut whole = serde_json::to_value(&*hsm).map_err(|e| ApiError::internal(e.to_string()))?;
    if let (Some(target), Some(source)) = (whole.as_object_mut(), snapshot.as_object()) {
        for (field, value) in source {
            if !NOT_BACKED_UP.contains(&field.as_str()) && target.contains_key(field) {
                target.insert(field.clone(), value.clone());
            }
        }
    }
    *hsm = serde_json::from_value(whole)
        .map_err(|e| ApiError::bad_parameter(format!("the backup does not fit this HSM: {e}")))?;
    Ok(())
}

/// Replaces key `name` of `hsm` (all its versions, whatever its stored form) with the one
/// in `snapshot`; `false` when the snapshot holds no such key.
pub fn restore_key(hsm: &mut Hsm, snapshot: &Value, name: &str) -> Result<bool, ApiError> {
    let Some(key) = snapshot.get("keys").and_then(|k| k.get(name)) else {
        return Ok(false);
    };
    let mut whole = serde_json::to_value(&*hsm).map_err(|e| ApiError::internal(e.to_string()))?;
    match whole.get_mut("keys").and_then(Value::as_object_mut) {
        Some(keys) => keys.insert(name.to_owned(), key.clone()),
        None => return Ok(false),
    };
    *hsm = serde_json::from_value(whole)
        .map_err(|e| ApiError::bad_parameter(format!("the backup does not fit this HSM: {e}")))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn hsm(activation: &str, setting: &str) -> crate::emulator::state::Hsm {
        serde_json::from_value(json!({
            "name": "h", "subscription": "s", "resource_group": "r", "tenant_id": "t",
            "initial_admin_object_ids": [], "sku": null, "activation": activation,
            "blobs": [{"tag": "t", "data": "AAAA"}], "transfer_key": null, "download": null,
            "upload": null, "keys": {}, "role_definitions": [], "role_assignments": [],
            "settings": {"AllowKeyManagementOperationsThroughARM": setting}
        }))
        .expect("a literal HSM")
    }

    #[test]
    fn a_snapshot_leaves_out_the_hsms_own_state_and_restores_the_rest() {
        let taken = super::snapshot(&hsm("Active", "true")).expect("snapshot");
        for field in super::NOT_BACKED_UP {
            assert!(taken.get(field).is_none(), "{field}");
        }
        assert_eq!(
            taken["settings"]["AllowKeyManagementOperationsThroughARM"],
            "true"
        );
        let mut target = hsm("NotActivated", "false");
        // A snapshot that tries to carry the HSM's own state changes none of it.
        let mut hostile = taken.clone();
        hostile["activation"] = json!("Active");
        hostile["blobs"] = json!([]);
        super::apply_snapshot(&mut target, &hostile).expect("apply");
        assert_eq!(target.activation, "NotActivated");
        assert_eq!(target.blobs.len(), 1);
        assert_eq!(
            target.settings["AllowKeyManagementOperationsThroughARM"],
            "true"
        );
        // One that does not fit the HSM's shape is refused and changes nothing.
        let before = target.settings.clone();
        let bad = json!({"settings": "not a map", "role_assignments": []});
        assert!(super::apply_snapshot(&mut target, &bad).is_err());
        assert_eq!(target.settings, before);
    }

    #[test]
    fn restoring_one_key_needs_it_in_the_snapshot() {
        let mut target = hsm("Active", "false");
        let snapshot = json!({"keys": {}});
        assert!(!super::restore_key(&mut target, &snapshot, "k1").expect("no error"));
        assert!(target.keys.is_empty());
    }
}
