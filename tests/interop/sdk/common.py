"""Shared by the SDK interop scripts: command-line arguments, the credential and clients.

Every script takes the same connection arguments:

    --vault-url URL      the HSM's URL (emulator.json's "hsms" entry)
    --authority URL      the authority (the emulator's URL)
    --tenant T --client-id ID --secret-file F   a service principal (secret read from F)
    --ca FILE            the CA to trust (passed to every client as connection_verify)

The credential is the official azure.identity ClientSecretCredential with the authority
given and instance discovery off; each client is built with verify_challenge_resource=False
(the emulator's URLs are not under *.managedhsm.azure.net). Nothing else is changed.
A script prints one JSON document on stdout; on an SDK error it prints the exception's
text on stderr and exits 1 (2 for bad usage).
"""

import argparse
import asyncio
import json
import sys
from typing import Any, Callable

from azure.core.exceptions import AzureError


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the connection arguments every script takes."""
    p = argparse.ArgumentParser(description=description)
    for name in ("--vault-url", "--authority", "--tenant", "--client-id", "--secret-file", "--ca"):
        p.add_argument(name, required=True)
    return p


def secret(args: argparse.Namespace) -> str:
    """The client secret, read from the secret file (never argv or the environment)."""
    with open(args.secret_file, encoding="utf-8") as f:
        return f.read().strip()


def credential(args: argparse.Namespace, aio: bool = False) -> Any:
    """ClientSecretCredential against the emulator's authority (sync or async)."""
    if aio:
        from azure.identity.aio import ClientSecretCredential as Credential
    else:
        from azure.identity import ClientSecretCredential as Credential
    return Credential(
        args.tenant,
        args.client_id,
        secret(args),
        authority=args.authority,
        disable_instance_discovery=True,
        connection_verify=args.ca,
    )


def client_kwargs(args: argparse.Namespace) -> dict:
    """What every Key Vault client gets beyond URL and credential."""
    return {"verify_challenge_resource": False, "connection_verify": args.ca}


def value(x: Any) -> Any:
    """The wire value of an SDK enum member (the member's name otherwise shows in str())."""
    return getattr(x, "value", x)


def emit(result: Any) -> None:
    """Prints the result as one JSON document."""
    print(json.dumps(result, sort_keys=True, default=str))


def run(main: Callable[[], Any]) -> None:
    """Runs main (a function or a coroutine function): exit 0, or 1 with the SDK's error."""
    try:
        if asyncio.iscoroutinefunction(main):
            asyncio.run(main())
        else:
            main()
    except AzureError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


def b64url(data: bytes) -> str:
    """base64url without padding, as JWKs carry numbers."""
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of a base64url string (padding optional)."""
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
