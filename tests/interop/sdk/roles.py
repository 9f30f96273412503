"""Role definitions and assignments with azure-keyvault-administration's
KeyVaultAccessControlClient.

    roles.py CONN --principal OID

Lists the built-in definitions at "/", creates a custom definition (set_role_definition),
gets and lists it, assigns it to OID at "/keys" (create_role_assignment), gets and lists
the assignment, deletes the assignment and the definition, and lists both again.
Prints what each step saw.
"""

import uuid

import common
from azure.keyvault.administration import (
    KeyVaultAccessControlClient,
    KeyVaultDataAction,
    KeyVaultPermission,
    KeyVaultRoleScope,
)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--principal", required=True)
    args = p.parse_args()

    def go() -> None:
        with common.credential(args) as cred, KeyVaultAccessControlClient(
            args.vault_url, cred, **common.client_kwargs(args)
        ) as c:
            builtins = list(c.list_role_definitions(KeyVaultRoleScope.GLOBAL))
            name = str(uuid.uuid4())
            permission = KeyVaultPermission(
                data_actions=[KeyVaultDataAction.READ_HSM_KEY, KeyVaultDataAction.SIGN_HSM_KEY]
            )
            created = c.set_role_definition(
                KeyVaultRoleScope.GLOBAL,
                name=name,
                role_name="sdk signer",
                description="made by roles.py",
                permissions=[permission],
            )
            got = c.get_role_definition(KeyVaultRoleScope.GLOBAL, name)
            listed = [d.name for d in c.list_role_definitions(KeyVaultRoleScope.GLOBAL)]
            assignment_name = str(uuid.uuid4())
            assigned = c.create_role_assignment(
                KeyVaultRoleScope.KEYS, created.id, args.principal, name=assignment_name
            )
            got_assignment = c.get_role_assignment(KeyVaultRoleScope.KEYS, assignment_name)
            assignments = [a.name for a in c.list_role_assignments(KeyVaultRoleScope.KEYS)]
            c.delete_role_assignment(KeyVaultRoleScope.KEYS, assignment_name)
            after_assignments = [a.name for a in c.list_role_assignments(KeyVaultRoleScope.KEYS)]
            c.delete_role_definition(KeyVaultRoleScope.GLOBAL, name)
            after_definitions = [d.name for d in c.list_role_definitions(KeyVaultRoleScope.GLOBAL)]
            common.emit(
                {
                    "builtin_role_names": sorted(d.role_name for d in builtins),
                    "builtin_role_types": sorted({common.value(d.role_type) for d in builtins}),
                    "created": {
                        "name": created.name,
                        "id": created.id,
                        "role_name": created.role_name,
                        "role_type": common.value(created.role_type),
                        "data_actions": [common.value(a) for a in created.permissions[0].data_actions],
                    },
                    "got_role_name": got.role_name,
                    "got_description": got.description,
                    "listed_has_custom": name in listed,
                    "assignment": {
                        "name": assigned.name,
                        "principal_id": assigned.properties.principal_id,
                        "role_definition_id": assigned.properties.role_definition_id,
                        "scope": common.value(assigned.properties.scope),
                    },
                    "got_assignment_principal": got_assignment.properties.principal_id,
                    "listed_has_assignment": assignment_name in assignments,
                    "assignment_listed_after_delete": assignment_name in after_assignments,
                    "definition_listed_after_delete": name in after_definitions,
                }
            )

    common.run(go)


if __name__ == "__main__":
    main()
