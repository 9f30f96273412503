#!/usr/bin/env bash
# Makes the seed corpora of the fuzz targets (fuzz/seeds/TARGET/) the way the tests make
# their data: keys and certificates with the openssl CLI, security domains with the
# HSM-side example, everything else with sdctl itself (a rehearsal on the in-process
# emulator gives real transcripts). Usage: fuzz/make-seeds.sh [SDCTL_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build --locked --quiet --bin sdctl --example make-test-sd
sdctl=${1:-$target/debug/sdctl}
make_sd=$target/debug/examples/make-test-sd
seeds=$repo/fuzz/seeds
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$seeds"
for t in sd_file jwe gf257 key_file restore_blob share_text emulator_request plan transcript bundle pkcs11_uri; do
  mkdir -p "$seeds/$t"
done
pass='fuzzing passphrase'
printf '%s\n' "$pass" > "$work/pass.txt"
chmod 600 "$work/pass.txt"

# Keys and certificates in every form users hand to sdctl.
for n in a b c; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/$n.key" -out "$work/$n.cer" \
    -days 30 -subj "/CN=custodian $n" 2>/dev/null
done
k=$seeds/key_file
cp "$work/a.key" "$k/pkcs8.pem"
cp "$work/a.cer" "$k/cert.pem"
openssl x509 -in "$work/a.cer" -outform DER -out "$k/cert.der"
openssl pkey -in "$work/a.key" -outform DER -out "$k/pkcs8.der"
openssl pkey -in "$work/a.key" -pubout -out "$k/spki.pem"
openssl pkey -in "$work/a.key" -traditional -out "$k/pkcs1.pem"
openssl pkcs8 -topk8 -in "$work/a.key" -v2 aes-256-cbc -passout "file:$work/pass.txt" -out "$k/pkcs8-enc.pem"
openssl pkcs8 -topk8 -in "$work/a.key" -v2 aes-256-cbc -passout "file:$work/pass.txt" -outform DER -out "$k/pkcs8-enc.der"
openssl rsa -in "$work/a.key" -traditional -aes256 -passout "file:$work/pass.txt" -out "$k/pkcs1-dek.pem" 2>/dev/null
openssl pkcs12 -export -inkey "$work/a.key" -in "$work/a.cer" -passout "file:$work/pass.txt" -out "$k/key.pfx"
cat "$work/a.key" "$work/a.cer" > "$k/key-and-cert.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/ec.pem" 2>/dev/null

# A security domain (bare and REST-wrapped), an exchange key, a restore blob.
"$make_sd" --quorum 2 --out "$work/sd.json" "$work/a.cer" "$work/b.cer" "$work/c.cer"
cp "$work/sd.json" "$seeds/sd_file/sd.json"
python3 - "$work" "$seeds" <<'PY'
import json, sys, base64, subprocess, os
work, seeds = sys.argv[1], sys.argv[2]
sd = open(f"{work}/sd.json").read()
open(f"{seeds}/sd_file/wrapped.json", "w").write(json.dumps({"value": sd}))
doc = json.loads(sd)
for i, d in enumerate(doc["EncData"]["data"][:4]):
    open(f"{seeds}/jwe/datum{i}.txt", "w").write(d["compact_jwe"])
for i, s in enumerate(doc["SharedKeys"]["enc_shares"]):
    open(f"{seeds}/jwe/share{i}.txt", "w").write(s["enc_key"])
# GF(257) share encodings: little-endian u16 (x << 9) | y, several shares split by 0xff.
import random
random.seed(257)
def share(x, n):
    return b"".join(((x << 9) | random.randrange(257)).to_bytes(2, "little") for _ in range(n))
open(f"{seeds}/gf257/two.bin", "wb").write(share(1, 32) + b"\xff" + share(2, 32))
open(f"{seeds}/gf257/split.bin", "wb").write(bytes([2, 1]) + os.urandom(32))
open(f"{seeds}/gf257/three.bin", "wb").write(b"\xff".join(share(x, 8) for x in (3, 7, 126)))
PY
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/exchange.key" -out "$work/exchange.cer" \
  -days 30 -subj "/CN=exchange" 2>/dev/null
printf '\n\n' > "$work/empty2.txt"
chmod 600 "$work/empty2.txt"
"$sdctl" sd restore-blob --sd-file "$work/sd.json" --sd-exchange-key "$work/exchange.cer" \
  --sd-wrapping-keys "$work/a.key" "$work/b.key" --passphrase-file "$work/empty2.txt" \
  --sd-file-restore-blob "$work/blob.json" >/dev/null
cp "$work/blob.json" "$seeds/restore_blob/blob.json"
python3 - "$work" "$seeds" <<'PY'
import json, sys, base64, subprocess
work, seeds = sys.argv[1], sys.argv[2]
blob = json.load(open(f"{work}/blob.json"))
open(f"{seeds}/jwe/wrapped-key.txt", "w").write(blob["WrappedKey"]["enc_key"])
der = subprocess.run(["openssl", "x509", "-in", f"{work}/exchange.cer", "-outform", "DER"],
                     capture_output=True, check=True).stdout
modulus = subprocess.run(["openssl", "x509", "-in", f"{work}/exchange.cer", "-noout", "-modulus"],
                         capture_output=True, check=True, text=True).stdout.strip().split("=")[1]
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
jwk = {"kty": "RSA", "key_ops": ["wrapKey"], "n": b64u(bytes.fromhex(modulus)), "e": "AQAB",
       "x5c": [base64.b64encode(der).decode()]}
open(f"{seeds}/restore_blob/transfer-object.json", "w").write(json.dumps({"key_format": "jwk", "transfer_key": jwk}))
open(f"{seeds}/restore_blob/transfer-string.json", "w").write(json.dumps({"key_format": "jwk", "transfer_key": json.dumps(jwk)}))
# Emulator requests: a selector byte (route) and a body.
def req(name, selector, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    open(f"{seeds}/emulator_request/{name}", "wb").write(bytes([selector]) + data)
certs = []
for n in "abc":
    der = subprocess.run(["openssl", "x509", "-in", f"{work}/{n}.cer", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    modulus = subprocess.run(["openssl", "x509", "-in", f"{work}/{n}.cer", "-noout", "-modulus"],
                             capture_output=True, check=True, text=True).stdout.strip().split("=")[1]
    certs.append({"kty": "RSA", "key_ops": ["verify", "encrypt", "wrapKey"], "alg": "RSA-OAEP-256",
                  "kid": n, "n": b64u(bytes.fromhex(modulus)), "e": "AQAB",
                  "x5c": [base64.b64encode(der).decode()]})
req("download", 0, {"certificates": certs, "required": 2})
req("upload", 1, {"value": json.dumps(blob)})
req("transfer-key", 2, b"")
role = {"properties": {"roleName": "SD officer", "type": "CustomRole", "description": "d",
        "assignableScopes": ["/"], "permissions": [{"actions": [], "notActions": [],
        "dataActions": ["Microsoft.KeyVault/managedHsm/securitydomain/download/action"],
        "notDataActions": []}]}}
req("role-definition", 3, role)
req("role-definition-keys", 4, role)
req("role-assignment", 5, {"properties": {"roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/4bd23610-cdcf-4971-bdee-bdc562cc28e4", "principalId": "00000000-0000-0000-0000-000000000001", "scope": "/"}})
req("key-create", 6, {"kty": "RSA-HSM", "key_size": 2048, "key_ops": ["wrapKey", "unwrapKey"]})
req("key-restore", 7, {"value": "AAAA"})
req("backup", 8, {"storageResourceUri": "https://account.blob.core.windows.net/backups", "token": "sv=2022&sig=x"})
req("restore", 9, {"sasTokenParameters": {"storageResourceUri": "https://account.blob.core.windows.net/backups", "token": "sv=x"}, "folderToRestore": "mhsm-live-2026"})
req("fault", 10, {"route": "download", "kind": "status-500", "remaining": 1})
req("token", 11, b"grant_type=client_credentials&client_id=x&client_secret=y&scope=https%3A%2F%2Fmanagedhsm.azure.net%2F.default")
req("arm", 12, {"location": "westeurope", "properties": {"initialAdminObjectIds": ["00000000-0000-0000-0000-000000000001"]}, "sku": {"name": "Standard_B1", "family": "B"}})
req("unauthenticated-download", 0x10, {"certificates": certs, "required": 2})
PY

# General shares: binary, text and sealed forms, and a share export.
head -c 48 /dev/urandom > "$work/secret.bin"
"$sdctl" shares split --threshold 2 --shares 3 --in "$work/secret.bin" --out-dir "$work/bin" --format file >/dev/null
"$sdctl" shares split --threshold 2 --shares 3 --in "$work/secret.bin" --out-dir "$work/txt" --format text >/dev/null
"$sdctl" shares split --threshold 2 --shares 3 --in "$work/secret.bin" --out-dir "$work/sealed" \
  --to-certs "$work/a.cer" "$work/b.cer" "$work/c.cer" >/dev/null
find "$work/bin" "$work/txt" "$work/sealed" -type f -name '*.share*' | head -9 | while read -r f; do
  cp "$f" "$seeds/share_text/$(basename "$(dirname "$f")")-$(basename "$f")"
done

# PKCS#11 URIs as custodians write them (RFC 7512 forms) and as ceremonies record them.
n=0
for uri in 'pkcs11:token=alice;object=sdctl-alice' \
  'pkcs11:token=YubiKey%20PIV%20%2312345678;id=%03' \
  'pkcs11:token=alice;serial=5f3c0b2a9e4d1c77;object=sdctl-alice;id=%9B%1F%04%C2' \
  'pkcs11:token=bob;object=sdctl-bob?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin' \
  'pkcs11:model=PKCS%2315;manufacturer=OpenSC;slot-id=3;type=private;x-vendor=1?module-name=opensc'; do
  n=$((n + 1))
  printf '%s' "$uri" >"$seeds/pkcs11_uri/uri-$n"
done

# Plans, transcripts and bundles: the example plan and a rehearsal's real records.
cp docs/ceremonies/plan.example.toml "$seeds/plan/example.toml"
"$sdctl" ceremony rehearse --work-dir "$work/rehearsal" >/dev/null
find "$work/rehearsal" -name transcript.jsonl | head -4 | while read -r f; do
  cp "$f" "$seeds/transcript/$(basename "$(dirname "$f")").jsonl"
done
find "$work/rehearsal" -name '*.toml' | head -4 | while read -r f; do
  cp "$f" "$seeds/plan/$(basename "$(dirname "$f")").toml"
done
python3 - "$seeds" "$work/sd.json" "$work/exchange.cer" "$work/blob.json" <<'PY'
import json, sys, hashlib, os
seeds, sd, exch, blob = sys.argv[1:5]
transcripts = sorted(os.listdir(f"{seeds}/transcript"))
text = open(f"{seeds}/transcript/{transcripts[0]}").read()
def carried(field, path):
    body = open(path).read()
    return {field: body, "sha256": hashlib.sha256(body.encode()).hexdigest()}
public = [{"custodian": name, "pem": open(f"{os.path.dirname(sd)}/{name}.cer").read()}
          for name in ("a", "b", "c")]
payloads = [("public", 0, {"certificates": public}),
            ("security-domain", 1, carried("security_domain", sd)),
            ("exchange-key", 2, carried("exchange_key_pem", exch)),
            ("restore-blob", 3, carried("restore_blob", blob))]
for kind, selector, payload in payloads:
    bundle = {"sdctl_bundle": 2, "kind": kind, "ceremony": "rehearsal", "run": "run-1",
              "plan_sha256": "0" * 64, "payload": payload, "transcript": text,
              "mac": hashlib.sha256(kind.encode()).hexdigest()}
    open(f"{seeds}/bundle/{kind}.json", "wb").write(bytes([selector]) + json.dumps(bundle).encode())
PY
find "$seeds" -type f | wc -l | xargs echo "seed files:"
