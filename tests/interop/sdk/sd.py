"""Security domain with azure-keyvault-securitydomain's SecurityDomainClient (sync or aio).

    sd.py CONN download --cert A.cer --cert B.cer --cert C.cer --required 2 --out SD [--aio]
    sd.py CONN transfer-key --out-jwk F --out-cert X.cer [--aio]
    sd.py CONN upload --blob BLOB [--aio]

download: begin_download is the first call of the process (no token yet, no earlier
request); the security domain is written to SD (the bare SD JSON), and the result is
{"download_status", "download_status_details"} from get_download_status.
transfer-key: get_transfer_key; the JWK to F and its x5c[0] as a PEM certificate to X.cer.
upload: begin_upload of the restore blob file's JSON, polled to completion, then
{"upload_status", "upload_status_details"} from get_upload_status.
"""

import base64
import json

import common
from azure.keyvault.securitydomain.models import CertificateInfo, SecurityDomainJsonWebKey


def certificate_jwk(path: str) -> SecurityDomainJsonWebKey:
    """The download request's JWK for a PEM certificate (public numbers, x5c, thumbprints)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    numbers = cert.public_key().public_numbers()
    der = cert.public_bytes(serialization.Encoding.DER)

    def number(n: int) -> str:
        return common.b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return SecurityDomainJsonWebKey(
        kid=path,
        kty="RSA",
        key_ops=["verify", "encrypt", "wrapKey"],
        alg="RSA-OAEP-256",
        n=number(numbers.n),
        e=number(numbers.e),
        x5_c=[base64.b64encode(der).decode()],
        x5_t=common.b64url(cert.fingerprint(hashes.SHA1())),
        x5_t_s256=common.b64url(cert.fingerprint(hashes.SHA256())),
    )


def pem_certificate(x5c0: str) -> str:
    """A PEM certificate from a base64 DER (x5c entry)."""
    body = "\n".join(x5c0[i : i + 64] for i in range(0, len(x5c0), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def client(args, aio: bool):
    if aio:
        from azure.keyvault.securitydomain.aio import SecurityDomainClient
    else:
        from azure.keyvault.securitydomain import SecurityDomainClient
    return SecurityDomainClient(args.vault_url, args.credential, **common.client_kwargs(args))


def download(c, args) -> dict:
    info = CertificateInfo(
        certificates=[certificate_jwk(p) for p in args.cert], required=args.required
    )
    sd = c.begin_download(certificate_info=info, polling_interval=0.2).result()
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(sd.value)
    status = c.get_download_status()
    return {"download_status": status.status, "download_status_details": status.status_details}


def transfer_key(key, args) -> dict:
    jwk = key.transfer_key
    if isinstance(jwk, str):
        jwk = json.loads(jwk)
    with open(args.out_jwk, "w", encoding="utf-8") as f:
        json.dump(dict(jwk), f)
    with open(args.out_cert, "w", encoding="utf-8") as f:
        f.write(pem_certificate(jwk["x5c"][0]))
    return {"key_format": key.key_format, "kty": jwk["kty"]}


def blob(args) -> dict:
    with open(args.blob, encoding="utf-8") as f:
        return {"value": f.read()}


def sync_main(args) -> None:
    with client(args, aio=False) as c:
        if args.command == "download":
            common.emit(download(c, args))
        elif args.command == "transfer-key":
            common.emit(transfer_key(c.get_transfer_key(), args))
        else:
            c.begin_upload(security_domain=blob(args), polling_interval=0.2).result()
            s = c.get_upload_status()
            common.emit({"upload_status": s.status, "upload_status_details": s.status_details})


async def async_main(args) -> None:
    async with client(args, aio=True) as c:
        if args.command == "download":
            info = CertificateInfo(
                certificates=[certificate_jwk(p) for p in args.cert], required=args.required
            )
            poller = await c.begin_download(certificate_info=info, polling_interval=0.2)
            sd = await poller.result()
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(sd.value)
            s = await c.get_download_status()
            common.emit({"download_status": s.status, "download_status_details": s.status_details})
        elif args.command == "transfer-key":
            common.emit(transfer_key(await c.get_transfer_key(), args))
        else:
            poller = await c.begin_upload(security_domain=blob(args), polling_interval=0.2)
            await poller.result()
            s = await c.get_upload_status()
            common.emit({"upload_status": s.status, "upload_status_details": s.status_details})


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("command", choices=["download", "transfer-key", "upload"])
    p.add_argument("--cert", action="append", default=[])
    p.add_argument("--required", type=int, default=2)
    p.add_argument("--out")
    p.add_argument("--out-jwk")
    p.add_argument("--out-cert")
    p.add_argument("--blob")
    p.add_argument("--aio", action="store_true")
    args = p.parse_args()
    if args.aio:

        async def go() -> None:
            await async_main(args)

        async def with_credential() -> None:
            async with common.credential(args, aio=True) as args.credential:
                await go()

        common.run(with_credential)
    else:

        def with_sync_credential() -> None:
            with common.credential(args) as args.credential:
                sync_main(args)

        common.run(with_sync_credential)


if __name__ == "__main__":
    main()
