"""Cross-check sdctl's compact JWE against an independent implementation (jwcrypto).

Run with the harness's Python:  <venv>/bin/python tests/interop/jwe_check.py ...
(<venv> is what tests/interop/setup.sh prints). The content encryption is always
A256CBC-HS512; the key management is RSA-OAEP-256 (or RSA-OAEP / RSA1_5 when
decrypting) with an RSA key, or `dir` with a 64-byte key given as hex in a file.

    decrypt (--key KEY.pem | --dir-key-hex-file F) --in JWE_FILE --out PLAINTEXT_FILE
            [--header-out HEADER_FILE]
    encrypt (--cert CERT.pem | --dir-key-hex-file F) --alg RSA-OAEP-256|dir
            --in PLAINTEXT_FILE --out JWE_FILE [--kid KID]

decrypt checks the header's alg against the kind of key and requires enc A256CBC-HS512,
writes the plaintext bytes exactly, and with --header-out the protected header as it was
decoded (bytes, no newline). encrypt writes the compact JWE (no newline) with the compact
protected header {"alg":...,"enc":"A256CBC-HS512"[,"kid":...]}, as az writes its own.
KEY.pem is an unencrypted PEM private key (PKCS#8 or PKCS#1); CERT.pem a PEM certificate
or public key. Exit status: 0 done, 1 the JWE did not decrypt (wrong key, bad MAC,
malformed), 2 bad usage or unreadable input; one line on stderr says why.
"""

import argparse
import base64
import json
import sys

from jwcrypto import jwe, jwk
from jwcrypto.common import JWException

ENC = "A256CBC-HS512"
RSA_ALGS = ("RSA-OAEP-256", "RSA-OAEP", "RSA1_5")


class Usage(Exception):
    """Bad arguments or input files: exit 2."""


class Failed(Exception):
    """The JWE did not decrypt: exit 1."""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Usage("cannot read %s: %s" % (path, e.strerror)) from None


def write_bytes(path, data):
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise Usage("cannot write %s: %s" % (path, e.strerror)) from None


def dir_key(path):
    text = read_bytes(path).decode("ascii", "replace").strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise Usage("%s: not hex" % path) from None
    if len(raw) != 64:
        raise Usage("%s: an A256CBC-HS512 key is 64 bytes, found %d" % (path, len(raw)))
    return jwk.JWK(kty="oct", k=b64url(raw))


def rsa_key(path, private):
    pem = read_bytes(path)
    try:
        key = jwk.JWK.from_pem(pem)
    except (ValueError, TypeError, JWException) as e:
        raise Usage("%s: not a usable unencrypted PEM key or certificate (%s)" % (path, e)) from None
    if key.get("kty") != "RSA":
        raise Usage("%s: not an RSA key" % path)
    if private and not key.has_private:
        raise Usage("%s: holds no private key" % path)
    return key


def decrypt(args):
    token = read_bytes(args.infile).decode("ascii", "replace").strip()
    parts = token.split(".")
    if len(parts) != 5:
        raise Failed("%s: a compact JWE has 5 parts, found %d" % (args.infile, len(parts)))
    try:
        header_bytes = b64url_decode(parts[0])
        header = json.loads(header_bytes)
    except ValueError:
        raise Failed("%s: the protected header is not base64url JSON" % args.infile) from None
    if not isinstance(header, dict):
        raise Failed("%s: the protected header is not a JSON object" % args.infile)
    alg, enc = header.get("alg"), header.get("enc")
    if enc != ENC:
        raise Failed("%s: enc is %r, expected %s" % (args.infile, enc, ENC))
    if args.key:
        if alg not in RSA_ALGS:
            raise Failed("%s: alg is %r, expected one of %s for an RSA key" % (args.infile, alg, ", ".join(RSA_ALGS)))
        key = rsa_key(args.key, private=True)
    else:
        if alg != "dir":
            raise Failed("%s: alg is %r, expected dir for a direct key" % (args.infile, alg))
        key = dir_key(args.dir_key_hex_file)
    obj = jwe.JWE()
    obj.allowed_algs = [alg, ENC]
    try:
        obj.deserialize(token, key=key)
        plaintext = obj.payload
    except (JWException, ValueError) as e:
        # jwcrypto 1.6 verifies the MAC and decrypts an empty plaintext, then reports
        # failure because the plaintext is falsy; its log says whether the MAC passed.
        if obj.plaintext == b"" and "Success" in getattr(obj, "decryptlog", []):
            plaintext = b""
        else:
            raise Failed("%s: does not decrypt (%s)" % (args.infile, e)) from None
    write_bytes(args.out, plaintext)
    if args.header_out:
        write_bytes(args.header_out, header_bytes)


def encrypt(args):
    if args.alg == "dir":
        if not args.dir_key_hex_file:
            raise Usage("--alg dir needs --dir-key-hex-file")
        key = dir_key(args.dir_key_hex_file)
    else:
        if not args.cert:
            raise Usage("--alg %s needs --cert" % args.alg)
        key = rsa_key(args.cert, private=False)
    header = {"alg": args.alg, "enc": ENC}
    if args.kid is not None:
        header["kid"] = args.kid
    protected = json.dumps(header, separators=(",", ":"))
    obj = jwe.JWE(read_bytes(args.infile), protected=protected)
    obj.allowed_algs = [args.alg, ENC]
    try:
        obj.add_recipient(key)
        token = obj.serialize(compact=True)
    except (JWException, ValueError) as e:
        raise Usage("cannot encrypt: %s" % e) from None
    write_bytes(args.out, token.encode("ascii"))


def parser():
    p = argparse.ArgumentParser(prog="jwe_check.py", description="Compact JWE (A256CBC-HS512) with jwcrypto.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("decrypt", help="decrypt a compact JWE")
    dk = d.add_mutually_exclusive_group(required=True)
    dk.add_argument("--key", help="PEM RSA private key (unencrypted)")
    dk.add_argument("--dir-key-hex-file", help="file with the 64-byte direct key in hex")
    d.add_argument("--in", dest="infile", required=True, help="file with the compact JWE")
    d.add_argument("--out", required=True, help="file for the plaintext")
    d.add_argument("--header-out", help="file for the decoded protected header")
    d.set_defaults(run=decrypt)

    e = sub.add_parser("encrypt", help="encrypt to a compact JWE")
    ek = e.add_mutually_exclusive_group(required=True)
    ek.add_argument("--cert", help="PEM certificate or public key (RSA)")
    ek.add_argument("--dir-key-hex-file", help="file with the 64-byte direct key in hex")
    e.add_argument("--alg", required=True, choices=["RSA-OAEP-256", "dir"])
    e.add_argument("--in", dest="infile", required=True, help="file with the plaintext")
    e.add_argument("--out", required=True, help="file for the compact JWE")
    e.add_argument("--kid", help="kid for the protected header (az puts the tag there for dir)")
    e.set_defaults(run=encrypt)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except Usage as e:
        print("jwe_check.py: %s" % e, file=sys.stderr)
        return 2
    except Failed as e:
        print("jwe_check.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
