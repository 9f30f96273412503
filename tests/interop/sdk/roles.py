"""Role definitions and assignments through azure-keyvault-administration's
KeyVaultAccessControlClient: list built-ins, create/get/list/delete a custom definition,
create/get/list/delete an assignment.

    roles.py --state-dir DIR --hsm NAME --principal OBJECT_ID
"""

import uuid

from common import Emulator, arguments, run


def main():
    args = arguments(("--principal", {"required": True}))
    from azure.keyvault.administration import (
        KeyVaultAccessControlClient,
        KeyVaultDataAction,
        KeyVaultPermission,
        KeyVaultRoleScope,
    )

    emu = Emulator(args.state_dir, args.hsm)
    out = {}
    with emu.client(KeyVaultAccessControlClient) as client:
        builtins = client.list_role_definitions(KeyVaultRoleScope.GLOBAL)
        out["definitions"] = sorted(d.role_name for d in builtins)
        name = str(uuid.uuid4())
        permission = KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])
        made = client.set_role_definition(
            KeyVaultRoleScope.GLOBAL, name=name, role_name="sdk reader",
            description="made by the official SDK", permissions=[permission],
        )
        got = client.get_role_definition(KeyVaultRoleScope.GLOBAL, name)
        out["custom"] = {
            "name": made.name, "role_name": got.role_name, "type": got.role_type,
            "data_actions": [str(getattr(a, "value", a)) for a in got.permissions[0].data_actions],
            "not_data_actions": list(got.permissions[0].not_data_actions),
            "actions": list(got.permissions[0].actions),
        }
        assignment = client.create_role_assignment(
            KeyVaultRoleScope.KEYS, made.id, args.principal
        )
        fetched = client.get_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
        out["assignment"] = {
            "name": fetched.name, "scope": fetched.properties.scope,
            "principal": fetched.properties.principal_id,
            "definition": fetched.properties.role_definition_id,
        }
        listed = client.list_role_assignments(KeyVaultRoleScope.KEYS)
        out["assignments_listed"] = sorted(a.name for a in listed)
        client.delete_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
        out["after_delete"] = sorted(a.name for a in client.list_role_assignments(KeyVaultRoleScope.KEYS))
        client.delete_role_definition(KeyVaultRoleScope.GLOBAL, name)
        out["definitions_after"] = sorted(
            d.name for d in client.list_role_definitions(KeyVaultRoleScope.GLOBAL)
        )
    return out


if __name__ == "__main__":
    run(main)
