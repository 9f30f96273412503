"""Shared setup of the official-SDK scripts: read the emulator's state directory and build
Microsoft's clients exactly as an application test would, with no client-side patches.

Every script takes --state-dir DIR (an `sdctl emulator serve` state directory) and
--hsm NAME. The credential is azure-identity's ClientSecretCredential signing in at the
emulator's authority (instance discovery off: MSAL would otherwise ask
login.microsoftonline.com about an authority it does not know); the client secret is read
from DIR/admin-credentials.json, never from argv or the environment. The emulator's CA is
trusted through REQUESTS_CA_BUNDLE (set by the caller) for the sync clients and through
`connection_verify` for the async ones. The only other accommodation is
verify_challenge_resource=False: the challenge names https://managedhsm.azure.net, which
is not a parent domain of 127.0.0.1.

Results go to stdout as one JSON document; a failure prints the SDK's exception and exits 1.
"""

import argparse
import json
import os
import sys
import traceback


def arguments(*extra):
    """Parses --state-dir, --hsm and the script's own (name, kwargs) arguments."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--hsm", required=True)
    for name, kwargs in extra:
        parser.add_argument(name, **kwargs)
    return parser.parse_args()


class Emulator:
    """What a test reads from the state directory: URLs, tenant, credentials, CA."""

    def __init__(self, state_dir, hsm):
        with open(os.path.join(state_dir, "emulator.json"), encoding="utf-8") as f:
            info = json.load(f)
        with open(os.path.join(state_dir, "admin-credentials.json"), encoding="utf-8") as f:
            self._credentials = json.load(f)
        self.authority = info["url"]
        self.tenant = info["tenant_id"]
        self.vault_url = info["hsms"][hsm]
        self.ca = os.path.join(state_dir, "ca.pem")

    def credential(self):
        from azure.identity import ClientSecretCredential

        c = self._credentials
        return ClientSecretCredential(
            c["tenant_id"],
            c["client_id"],
            c["client_secret"],
            authority=self.authority,
            disable_instance_discovery=True,
        )

    def async_credential(self):
        from azure.identity.aio import ClientSecretCredential

        c = self._credentials
        return ClientSecretCredential(
            c["tenant_id"],
            c["client_id"],
            c["client_secret"],
            authority=self.authority,
            disable_instance_discovery=True,
            connection_verify=self.ca,
        )

    def client(self, cls, credential=None, **kwargs):
        """A client of class `cls` for the HSM, as an application would build it."""
        return cls(
            self.vault_url,
            credential or self.credential(),
            verify_challenge_resource=False,
            **kwargs,
        )


def run(main):
    """Runs `main()`, prints its result as JSON; the SDK's error and exit 1 on failure."""
    try:
        result = main()
    except Exception as e:  # noqa: BLE001 - the test wants the SDK's own words
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        sys.exit(1)
    json.dump(result, sys.stdout, default=str)
    sys.stdout.write("\n")


def b64url(data):
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
