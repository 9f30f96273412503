"""CryptographyClient (azure-keyvault-keys) for every algorithm the emulator serves.

    crypto.py CONN

Makes keys with KeyClient (RSA 2048, EC P-256/P-384/P-521, oct 128/192/256), then with one
CryptographyClient per key: encrypt/decrypt and wrap/unwrap round trips (RSA1_5, RSA-OAEP,
RSA-OAEP-256; A*GCM with AAD, A*CBC, A*CBCPAD; A*KW), and sign/verify (RS*, PS*, ES*),
each signature also checked against a different digest. Prints
{"roundtrips": [{op, alg, ok, ...}], "signatures": [{alg, digest, signature, jwk, valid,
valid_for_other_digest}]}: the test verifies the signatures with openssl from the JWK.
"""

import hashlib

import common
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import (
    CryptographyClient,
    EncryptionAlgorithm,
    KeyWrapAlgorithm,
    SignatureAlgorithm,
)

PLAINTEXT = b"sixteen byte blk" * 3 + b"and a tail"
KEY_MATERIAL = bytes(range(32))


def public_jwk(key) -> dict:
    k = key.key
    if common.value(k.kty).startswith("EC"):
        return {"kty": "EC", "crv": common.value(k.crv), "x": common.b64url(k.x), "y": common.b64url(k.y)}
    return {"kty": "RSA", "n": common.b64url(k.n), "e": common.b64url(k.e)}


def rsa_roundtrips(c: CryptographyClient) -> list:
    out = []
    for alg in (EncryptionAlgorithm.rsa1_5, EncryptionAlgorithm.rsa_oaep, EncryptionAlgorithm.rsa_oaep_256):
        enc = c.encrypt(alg, PLAINTEXT)
        dec = c.decrypt(alg, enc.ciphertext)
        out.append({"op": "encrypt", "alg": common.value(alg), "ok": dec.plaintext == PLAINTEXT})
    for alg in (KeyWrapAlgorithm.rsa1_5, KeyWrapAlgorithm.rsa_oaep, KeyWrapAlgorithm.rsa_oaep_256):
        wrapped = c.wrap_key(alg, KEY_MATERIAL)
        unwrapped = c.unwrap_key(alg, wrapped.encrypted_key)
        out.append({"op": "wrap", "alg": common.value(alg), "ok": unwrapped.key == KEY_MATERIAL})
    return out


def aes_roundtrips(c: CryptographyClient, bits: int) -> list:
    out = []
    gcm = EncryptionAlgorithm(f"A{bits}GCM")
    enc = c.encrypt(gcm, PLAINTEXT, additional_authenticated_data=b"aad")
    dec = c.decrypt(gcm, enc.ciphertext, iv=enc.iv, authentication_tag=enc.tag, additional_authenticated_data=b"aad")
    out.append({"op": "encrypt", "alg": gcm.value, "ok": dec.plaintext == PLAINTEXT,
                "iv_len": len(enc.iv or b""), "tag_len": len(enc.tag or b"")})
    iv = bytes(range(16))
    block_aligned = PLAINTEXT[:48]
    for alg, plain in ((EncryptionAlgorithm(f"A{bits}CBC"), block_aligned), (EncryptionAlgorithm(f"A{bits}CBCPAD"), PLAINTEXT)):
        enc = c.encrypt(alg, plain, iv=iv)
        dec = c.decrypt(alg, enc.ciphertext, iv=enc.iv)
        out.append({"op": "encrypt", "alg": alg.value, "ok": dec.plaintext == plain, "iv_echoed": enc.iv == iv})
    kw = KeyWrapAlgorithm(f"A{bits}KW")
    wrapped = c.wrap_key(kw, KEY_MATERIAL)
    out.append({"op": "wrap", "alg": kw.value, "ok": c.unwrap_key(kw, wrapped.encrypted_key).key == KEY_MATERIAL})
    return out


def signature(c: CryptographyClient, key, alg: SignatureAlgorithm) -> dict:
    hash_name = "sha" + alg.value[-3:]
    digest = hashlib.new(hash_name, PLAINTEXT).digest()
    other = hashlib.new(hash_name, PLAINTEXT + b".").digest()
    signed = c.sign(alg, digest)
    return {
        "alg": common.value(signed.algorithm),
        "digest": common.b64url(digest),
        "signature": common.b64url(signed.signature),
        "jwk": public_jwk(key),
        "valid": c.verify(alg, digest, signed.signature).is_valid,
        "valid_for_other_digest": c.verify(alg, other, signed.signature).is_valid,
    }


def main() -> None:
    args = common.parser(__doc__).parse_args()

    def go() -> None:
        kwargs = common.client_kwargs(args)
        result = {"roundtrips": [], "signatures": []}
        with common.credential(args) as cred, KeyClient(args.vault_url, cred, **kwargs) as keys:
            rsa = keys.create_rsa_key("crypto-rsa", size=2048, hardware_protected=True)
            with CryptographyClient(rsa, cred, **kwargs) as c:
                result["roundtrips"] += rsa_roundtrips(c)
                for name in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
                    result["signatures"].append(signature(c, rsa, SignatureAlgorithm(name)))
            for curve, name in (("P-256", "ES256"), ("P-384", "ES384"), ("P-521", "ES512")):
                ec = keys.create_ec_key(f"crypto-{name.lower()}", curve=curve, hardware_protected=True)
                with CryptographyClient(ec, cred, **kwargs) as c:
                    result["signatures"].append(signature(c, ec, SignatureAlgorithm(name)))
            for bits in (128, 192, 256):
                aes = keys.create_oct_key(f"crypto-aes{bits}", size=bits, hardware_protected=True)
                with CryptographyClient(aes, cred, **kwargs) as c:
                    result["roundtrips"] += aes_roundtrips(c, bits)
        common.emit(result)

    common.run(go)


if __name__ == "__main__":
    main()
