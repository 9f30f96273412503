"""Every algorithm the emulator serves through azure-keyvault-keys' CryptographyClient:
encrypt/decrypt and wrap/unwrap round trips (RSA1_5, RSA-OAEP, RSA-OAEP-256, A*GCM,
A*CBC, A*CBCPAD, A*KW) and sign/verify (RS*, PS*, ES*). Keys are made with KeyClient.

    crypto.py --state-dir DIR --hsm NAME

Prints {"roundtrips": [...], "signatures": [{alg, kid, digest, signature, jwk}]}: the
signatures and the public keys the SDK returned, for the test to verify with openssl.
"""

import hashlib
import os

from common import Emulator, arguments, b64url, run

MESSAGE = b"sdctl emulator: Microsoft's own CryptographyClient"


def name(algorithm):
    """An algorithm enum's wire name."""
    return getattr(algorithm, "value", algorithm)


def public_jwk(key):
    k = key.key
    if k.kty.startswith("EC"):
        return {"kty": "EC", "crv": k.crv, "x": b64url(k.x), "y": b64url(k.y)}
    return {"kty": "RSA", "n": b64url(k.n), "e": b64url(k.e)}


def main():
    args = arguments()
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import (
        CryptographyClient,
        EncryptionAlgorithm,
        KeyWrapAlgorithm,
        SignatureAlgorithm,
    )

    emu = Emulator(args.state_dir, args.hsm)
    credential = emu.credential()
    keys = emu.client(KeyClient, credential)
    out = {"roundtrips": [], "signatures": []}

    def crypto(key):
        return CryptographyClient(key, credential, verify_challenge_resource=False)

    rsa = keys.create_rsa_key("crypto-rsa", size=2048, hardware_protected=True)
    with crypto(rsa) as c:
        for alg in ("rsa1_5", "rsa_oaep", "rsa_oaep_256"):
            e = c.encrypt(getattr(EncryptionAlgorithm, alg), MESSAGE)
            d = c.decrypt(getattr(EncryptionAlgorithm, alg), e.ciphertext)
            out["roundtrips"].append({"alg": name(e.algorithm), "ok": d.plaintext == MESSAGE})
            w = c.wrap_key(getattr(KeyWrapAlgorithm, alg), MESSAGE[:32])
            u = c.unwrap_key(getattr(KeyWrapAlgorithm, alg), w.encrypted_key)
            out["roundtrips"].append({"alg": "wrap " + name(w.algorithm), "ok": u.key == MESSAGE[:32]})
    sign_keys = [(rsa, a) for a in ("rs256", "rs384", "rs512", "ps256", "ps384", "ps512")]
    for crv, alg in (("P-256", "es256"), ("P-384", "es384"), ("P-521", "es512")):
        ec = keys.create_ec_key("crypto-ec-" + crv.lower(), curve=crv, hardware_protected=True)
        sign_keys.append((ec, alg))
    for key, alg in sign_keys:
        hash_name = {"256": "sha256", "384": "sha384", "512": "sha512"}[alg[-3:]]
        digest = hashlib.new(hash_name, MESSAGE).digest()
        with crypto(key) as c:
            s = c.sign(getattr(SignatureAlgorithm, alg), digest)
            good = c.verify(getattr(SignatureAlgorithm, alg), digest, s.signature).is_valid
            other = hashlib.new(hash_name, MESSAGE + b"!").digest()
            bad = c.verify(getattr(SignatureAlgorithm, alg), other, s.signature).is_valid
        out["signatures"].append({
            "alg": name(s.algorithm), "kid": s.key_id, "digest": b64url(digest),
            "signature": b64url(s.signature), "jwk": public_jwk(key),
            "verified": good, "verified_other_digest": bad,
        })
    for bits in (128, 192, 256):
        aes = keys.create_oct_key(f"crypto-aes-{bits}", size=bits, hardware_protected=True)
        with crypto(aes) as c:
            gcm = getattr(EncryptionAlgorithm, f"a{bits}_gcm")
            e = c.encrypt(gcm, MESSAGE, additional_authenticated_data=b"header")
            d = c.decrypt(gcm, e.ciphertext, iv=e.iv, authentication_tag=e.tag,
                          additional_authenticated_data=b"header")
            out["roundtrips"].append({"alg": name(gcm), "ok": d.plaintext == MESSAGE,
                                      "iv_bytes": len(e.iv), "tag_bytes": len(e.tag)})
            for mode, plain in (("cbc", MESSAGE[:48]), ("cbcpad", MESSAGE)):
                alg = getattr(EncryptionAlgorithm, f"a{bits}_{mode}")
                iv = os.urandom(16)
                e = c.encrypt(alg, plain, iv=iv)
                d = c.decrypt(alg, e.ciphertext, iv=e.iv)
                out["roundtrips"].append({"alg": name(alg), "ok": d.plaintext == plain,
                                          "iv_echoed": e.iv == iv})
            kw = getattr(KeyWrapAlgorithm, f"aes_{bits}")
            w = c.wrap_key(kw, MESSAGE[:32])
            u = c.unwrap_key(kw, w.encrypted_key)
            out["roundtrips"].append({"alg": name(kw), "ok": u.key == MESSAGE[:32]})
    keys.close()
    return out


if __name__ == "__main__":
    run(main)
