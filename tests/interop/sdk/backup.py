"""Full backup and restore with azure-keyvault-administration's KeyVaultBackupClient.

    backup.py CONN backup --storage file:///ABSOLUTE/DIR
    backup.py CONN restore --folder-url URL [--key-name NAME]

The emulator's storage is a local directory named by a file:// URL; the SAS token is
required by the SDK's API and ignored by the emulator. backup prints {"folder_url",
"status"}; restore (full, or selective with --key-name) prints {"status"}.
"""

import common
from azure.keyvault.administration import KeyVaultBackupClient

SAS_TOKEN = "sv=2024-11-04&sig=unused-by-the-emulator"


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("command", choices=["backup", "restore"])
    p.add_argument("--storage")
    p.add_argument("--folder-url")
    p.add_argument("--key-name")
    args = p.parse_args()

    def go() -> None:
        with common.credential(args) as cred, KeyVaultBackupClient(
            args.vault_url, cred, **common.client_kwargs(args)
        ) as c:
            if args.command == "backup":
                poller = c.begin_backup(args.storage, sas_token=SAS_TOKEN, _polling_interval=0.2)
                result = poller.result()
                common.emit({"folder_url": result.folder_url, "status": poller.status()})
            else:
                extra = {"key_name": args.key_name} if args.key_name else {}
                poller = c.begin_restore(args.folder_url, sas_token=SAS_TOKEN, _polling_interval=0.2, **extra)
                poller.result()
                common.emit({"status": poller.status()})

    common.run(go)


if __name__ == "__main__":
    main()
