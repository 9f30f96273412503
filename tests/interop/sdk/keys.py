"""Keys through azure-keyvault-keys' KeyClient, every call the SDK offers a Managed HSM:
create (RSA, EC, oct), get (current and by version), list, versions, update, delete
(poller), deleted keys, recover (poller), purge, backup, restore, random bytes.

    keys.py --state-dir DIR --hsm NAME lifecycle      the whole life of keys in one HSM
    keys.py --state-dir DIR --hsm NAME backup --name K --out FILE
    keys.py --state-dir DIR --hsm NAME restore --blob FILE

lifecycle prints what each step returned (ids, attributes, counts) for the test to check.
"""

import datetime

from common import Emulator, arguments, run


def props(p):
    return {
        "id": p.id,
        "name": p.name,
        "version": p.version,
        "enabled": p.enabled,
        "expires_on": p.expires_on.timestamp() if p.expires_on else None,
        "tags": p.tags,
        "recovery_level": p.recovery_level,
        "recoverable_days": p.recoverable_days,
    }


def key(k):
    return {"properties": props(k.properties), "kty": k.key_type, "key_ops": k.key_operations}


def lifecycle(client):
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    out = {}
    rsa = client.create_rsa_key("sdk-rsa", size=3072, hardware_protected=True, tags={"app": "sdk"})
    ec = client.create_ec_key("sdk-ec", curve="P-384", hardware_protected=True)
    oct_key = client.create_oct_key("sdk-oct", size=256, hardware_protected=True)
    out["created"] = [key(rsa), key(ec), key(oct_key)]
    out["rsa_n_bytes"] = len(rsa.key.n)
    out["ec_x_bytes"] = len(ec.key.x)
    try:
        client.create_rsa_key("sdk-soft", hardware_protected=False)
        out["software_key"] = "created"
    except HttpResponseError as e:
        out["software_key"] = {"status": e.status_code, "code": e.error.code if e.error else None}
    second = client.create_rsa_key("sdk-rsa", size=2048, hardware_protected=True)
    out["second_version"] = key(second)
    out["get_current"] = key(client.get_key("sdk-rsa"))
    out["get_first"] = key(client.get_key("sdk-rsa", version=rsa.properties.version))
    out["listed"] = sorted(p.name for p in client.list_properties_of_keys())
    out["versions"] = [p.version for p in client.list_properties_of_key_versions("sdk-rsa")]
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    updated = client.update_key_properties(
        "sdk-rsa", enabled=False, expires_on=expires, tags={"state": "off"},
        key_operations=["verify"],
    )
    out["updated"] = key(updated)
    out["random_bytes"] = len(client.get_random_bytes(count=32))
    deleted = client.begin_delete_key("sdk-ec").result()
    out["deleted"] = {"name": deleted.name, "recovery_id": deleted.recovery_id,
                      "deleted_on": str(deleted.deleted_date),
                      "scheduled_purge": str(deleted.scheduled_purge_date)}
    out["get_deleted"] = client.get_deleted_key("sdk-ec").name
    out["deleted_listed"] = [d.name for d in client.list_deleted_keys()]
    try:
        client.get_key("sdk-ec")
        out["get_after_delete"] = "found"
    except ResourceNotFoundError:
        out["get_after_delete"] = "not found"
    out["recovered"] = key(client.begin_recover_deleted_key("sdk-ec").result())
    client.begin_delete_key("sdk-oct").result()
    client.purge_deleted_key("sdk-oct")
    out["after_purge"] = sorted(d.name for d in client.list_deleted_keys())
    out["final"] = sorted(p.name for p in client.list_properties_of_keys())
    return out


def main():
    args = arguments(
        ("action", {"choices": ["lifecycle", "backup", "restore"]}),
        ("--name", {}),
        ("--out", {}),
        ("--blob", {}),
    )
    from azure.keyvault.keys import KeyClient

    emu = Emulator(args.state_dir, args.hsm)
    with emu.client(KeyClient) as client:
        if args.action == "lifecycle":
            return lifecycle(client)
        if args.action == "backup":
            blob = client.backup_key(args.name)
            with open(args.out, "wb") as f:
                f.write(blob)
            return {"bytes": len(blob)}
        with open(args.blob, "rb") as f:
            restored = client.restore_key_backup(f.read())
        return key(restored)


if __name__ == "__main__":
    run(main)
