"""Full backup and restore through azure-keyvault-administration's KeyVaultBackupClient
(the emulator's storage is a local folder named by a file:// URL).

    backup.py --state-dir DIR --hsm NAME backup --storage file:///ABS/DIR
    backup.py --state-dir DIR --hsm NAME restore --folder-url file:///ABS/DIR/FOLDER

Prints {"folder_url"} after a backup and {"status"} after a restore.
"""

from common import Emulator, arguments, run


def main():
    args = arguments(
        ("action", {"choices": ["backup", "restore"]}),
        ("--storage", {}),
        ("--folder-url", {}),
    )
    from azure.keyvault.administration import KeyVaultBackupClient

    emu = Emulator(args.state_dir, args.hsm)
    with emu.client(KeyVaultBackupClient) as client:
        if args.action == "backup":
            poller = client.begin_backup(args.storage, sas_token="unused-on-loopback")
            return {"folder_url": poller.result().folder_url, "status": poller.status()}
        poller = client.begin_restore(args.folder_url, sas_token="unused-on-loopback")
        poller.result()
        return {"status": poller.status()}


if __name__ == "__main__":
    run(main)
