"""Account settings with azure-keyvault-administration's KeyVaultSettingsClient.

    settings.py CONN [--update NAME=true|false]

Lists the settings, gets each by name, and with --update sets a boolean setting and reads
it back. Prints {"listed": {name: {value, type}}, "got": {...}, "updated": {...}}.
"""

import common
from azure.keyvault.administration import KeyVaultSetting, KeyVaultSettingsClient


def shown(s: KeyVaultSetting) -> dict:
    return {"value": s.value, "type": common.value(s.setting_type)}


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--update")
    args = p.parse_args()

    def go() -> None:
        with common.credential(args) as cred, KeyVaultSettingsClient(
            args.vault_url, cred, **common.client_kwargs(args)
        ) as c:
            listed = {s.name: shown(s) for s in c.list_settings()}
            got = {name: shown(c.get_setting(name)) for name in listed}
            result = {"listed": listed, "got": got}
            if args.update:
                name, _, text = args.update.partition("=")
                answer = c.update_setting(KeyVaultSetting(name=name, value=text == "true", setting_type="boolean"))
                result["updated"] = {"answer": shown(answer), "read_back": shown(c.get_setting(name))}
            common.emit(result)

    common.run(go)


if __name__ == "__main__":
    main()
