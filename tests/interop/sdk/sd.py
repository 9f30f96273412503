"""The security domain through azure-keyvault-securitydomain, the very first call of a
fresh process being begin_download (the SDK's first request carries no token and must get
the challenge).

    sd.py --state-dir DIR --hsm NAME download --cert A.cer --cert B.cer --cert C.cer --quorum 2 --out SD [--async]
    sd.py --state-dir DIR --hsm NAME transfer-key --out FILE
    sd.py --state-dir DIR --hsm NAME upload --blob FILE [--async]

download writes the security domain the SDK returns to SD; transfer-key writes the exchange
key as the SDK returns it (a JSON object with key_format and transfer_key); upload sends a
restore blob (as written by `sdctl sd restore-blob` or az) and waits for the SDK's poller.
Each prints the statuses the SDK reads afterwards.
"""

import asyncio
import base64
import hashlib
import json

from common import Emulator, arguments, b64url, run


def jwk_of_certificate(path):
    """The JWK of a PEM certificate, as the SDK's samples build it."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    der = cert.public_bytes(Encoding.DER)
    numbers = cert.public_key().public_numbers()

    def be(n):
        return n.to_bytes((n.bit_length() + 7) // 8, "big")

    return {
        "kty": "RSA",
        "key_ops": ["verify", "encrypt", "wrapKey"],
        "alg": "RSA-OAEP-256",
        "n": b64url(be(numbers.n)),
        "e": b64url(be(numbers.e)),
        "x5c": [base64.b64encode(der).decode()],
        "x5t": b64url(hashlib.sha1(der).digest()),
        "x5t#S256": b64url(hashlib.sha256(der).digest()),
    }


def status(s):
    return {"status": s.status, "status_details": s.status_details}


def main():
    args = arguments(
        ("action", {"choices": ["download", "transfer-key", "upload"]}),
        ("--cert", {"action": "append", "default": []}),
        ("--quorum", {"type": int, "default": 2}),
        ("--out", {}),
        ("--blob", {}),
        ("--async", {"action": "store_true", "dest": "use_async"}),
    )
    emu = Emulator(args.state_dir, args.hsm)
    if args.use_async:
        return asyncio.run(main_async(args, emu))
    from azure.keyvault.securitydomain import SecurityDomainClient
    from azure.keyvault.securitydomain.models import CertificateInfo, SecurityDomain

    with emu.client(SecurityDomainClient) as client:
        if args.action == "download":
            info = CertificateInfo(
                certificates=[jwk_of_certificate(c) for c in args.cert], required=args.quorum
            )
            sd = client.begin_download(certificate_info=info, polling_interval=0.2).result()
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(sd.value)
            return {"download": status(client.get_download_status())}
        if args.action == "transfer-key":
            key = client.get_transfer_key()
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump(key.as_dict(), f)
            return {"key_format": key.key_format}
        with open(args.blob, encoding="utf-8") as f:
            blob = f.read().strip()
        client.begin_upload(SecurityDomain(value=blob), polling_interval=0.2).result()
        return {"upload": status(client.get_upload_status())}


async def main_async(args, emu):
    from azure.keyvault.securitydomain.aio import SecurityDomainClient
    from azure.keyvault.securitydomain.models import CertificateInfo, SecurityDomain

    credential = emu.async_credential()
    client = emu.client(SecurityDomainClient, credential, connection_verify=emu.ca)
    async with credential, client:
        if args.action == "download":
            info = CertificateInfo(
                certificates=[jwk_of_certificate(c) for c in args.cert], required=args.quorum
            )
            poller = await client.begin_download(certificate_info=info, polling_interval=0.2)
            sd = await poller.result()
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(sd.value)
            return {"download": status(await client.get_download_status())}
        if args.action == "upload":
            with open(args.blob, encoding="utf-8") as f:
                blob = f.read().strip()
            poller = await client.begin_upload(SecurityDomain(value=blob), polling_interval=0.2)
            await poller.result()
            return {"upload": status(await client.get_upload_status())}
        raise SystemExit("transfer-key runs with the sync client")


if __name__ == "__main__":
    run(main)
