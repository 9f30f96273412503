"""Signs in to an authority with the official azure-identity ClientSecretCredential.

    identity_check.py --authority URL --tenant T --client-id ID --secret-file F --scope S

The authority's CA is trusted through REQUESTS_CA_BUNDLE (set by the caller); instance
discovery is turned off (MSAL would ask login.microsoftonline.com about an authority it
does not know). Prints {"access_token", "expires_on"} and exits 0 on success; on a refused
sign-in prints the credential's error message and exits 1; 2 for bad usage.
"""

import argparse
import json
import sys

from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("--authority", "--tenant", "--client-id", "--secret-file", "--scope"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    with open(args.secret_file, encoding="utf-8") as f:
        secret = f.read().strip()
    credential = ClientSecretCredential(
        args.tenant,
        args.client_id,
        secret,
        authority=args.authority,
        disable_instance_discovery=True,
    )
    try:
        token = credential.get_token(args.scope)
    except ClientAuthenticationError as e:
        print(e.message, file=sys.stderr)
        return 1
    finally:
        credential.close()
    print(json.dumps({"access_token": token.token, "expires_on": token.expires_on}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
