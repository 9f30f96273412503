"""Keys with azure-keyvault-keys' KeyClient.

    keys.py CONN lifecycle --backup-out FILE
    keys.py CONN restore --backup FILE

lifecycle: create_rsa_key / create_ec_key / create_oct_key (hardware_protected=True; and
hardware_protected=False, whose outcome is reported), get_key (latest and by version),
a second version, list_properties_of_keys, list_properties_of_key_versions,
update_key_properties (enabled, expires_on, tags, key_operations), begin_delete_key,
get_deleted_key, list_deleted_keys, begin_recover_deleted_key, delete again and
purge_deleted_key, backup_key of "sdk-rsa" (written to FILE), get_random_bytes.
restore: restore_key_backup of FILE. Each prints what it saw as JSON.
"""

import datetime

import common
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.keys import KeyClient


def jwk(key) -> dict:
    """The public parts of a key's JWK as JSON values."""
    k = key.key
    out = {"kid": k.kid, "kty": common.value(k.kty), "key_ops": [common.value(o) for o in k.key_ops or []]}
    for field in ("n", "e", "x", "y"):
        data = getattr(k, field, None)
        if data:
            out[field] = common.b64url(data)
    if k.crv:
        out["crv"] = common.value(k.crv)
    return out


def lifecycle(c: KeyClient, args) -> dict:
    r = {}
    rsa = c.create_rsa_key("sdk-rsa", size=2048, hardware_protected=True)
    ec = c.create_ec_key("sdk-ec", curve="P-256", hardware_protected=True)
    oct_key = c.create_oct_key("sdk-oct", size=256, hardware_protected=True)
    r["created"] = {"rsa": jwk(rsa), "ec": jwk(ec), "oct": {"kty": common.value(oct_key.key.kty)}}
    try:
        soft = c.create_rsa_key("sdk-soft", hardware_protected=False)
        r["software_protected"] = {"kty": common.value(soft.key.kty)}
    except HttpResponseError as e:
        r["software_protected"] = {"status": e.status_code, "code": e.error.code if e.error else None}

    second = c.create_rsa_key("sdk-rsa", size=3072, hardware_protected=True)
    latest = c.get_key("sdk-rsa")
    first = c.get_key("sdk-rsa", version=rsa.properties.version)
    r["versions"] = {
        "first": rsa.properties.version,
        "second": second.properties.version,
        "latest_is_second": latest.properties.version == second.properties.version,
        "by_version_n_is_first": first.key.n == rsa.key.n,
        "listed": sorted(p.version for p in c.list_properties_of_key_versions("sdk-rsa")),
    }
    r["listed_names"] = sorted(p.name for p in c.list_properties_of_keys())

    expires = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    updated = c.update_key_properties(
        "sdk-ec", enabled=False, expires_on=expires, tags={"team": "sdk"}, key_operations=["sign", "verify"]
    )
    read_back = c.get_key("sdk-ec")
    r["updated"] = {
        "enabled": read_back.properties.enabled,
        "expires_on": read_back.properties.expires_on.isoformat() if read_back.properties.expires_on else None,
        "tags": read_back.properties.tags,
        "key_ops": [common.value(o) for o in read_back.key_operations or []],
        "answer_enabled": updated.properties.enabled,
    }

    deleted = c.begin_delete_key("sdk-oct").result()
    got_deleted = c.get_deleted_key("sdk-oct")
    r["deleted"] = {
        "recovery_id_set": bool(deleted.recovery_id),
        "got_name": got_deleted.name,
        "listed": sorted(d.name for d in c.list_deleted_keys()),
        "live_names": sorted(p.name for p in c.list_properties_of_keys()),
    }
    recovered = c.begin_recover_deleted_key("sdk-oct").result()
    r["recovered"] = {"name": recovered.name, "get_ok": c.get_key("sdk-oct").name == "sdk-oct"}
    c.begin_delete_key("sdk-oct").result()
    c.purge_deleted_key("sdk-oct")
    try:
        c.get_deleted_key("sdk-oct")
        r["purged"] = False
    except ResourceNotFoundError:
        r["purged"] = True

    backup = c.backup_key("sdk-rsa")
    with open(args.backup_out, "wb") as f:
        f.write(backup)
    r["backup_len"] = len(backup)
    r["random_len"] = len(c.get_random_bytes(32))
    return r


def restore(c: KeyClient, args) -> dict:
    with open(args.backup, "rb") as f:
        key = c.restore_key_backup(f.read())
    versions = sorted(p.version for p in c.list_properties_of_key_versions(key.name))
    return {"name": key.name, "jwk": jwk(key), "versions": versions}


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("command", choices=["lifecycle", "restore"])
    p.add_argument("--backup-out")
    p.add_argument("--backup")
    args = p.parse_args()

    def go() -> None:
        with common.credential(args) as cred, KeyClient(args.vault_url, cred, **common.client_kwargs(args)) as c:
            common.emit(lifecycle(c, args) if args.command == "lifecycle" else restore(c, args))

    common.run(go)


if __name__ == "__main__":
    main()
