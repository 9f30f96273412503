#!/usr/bin/env bash
# The Azure CLI's online security-domain commands against the emulator, in a network
# namespace of their own:  unshare -n bash tests/interop/az_online.sh SDCTL VENV WORK
# Brings up lo, starts `SDCTL emulator serve` (HSMs hsm-a and hsm-b) with its state in
# WORK/emu, registers a custom cloud whose endpoints are the emulator's, signs in as the
# emulator's service principal, then: download hsm-a's security domain (3 custodians from
# WORK/k{1,2,3}.{key,cer}, quorum 2) to WORK/sd.json, wait, init-recovery of hsm-b to
# WORK/exch.cer, an upload below the quorum (must fail), the upload with k1 and k3, wait.
# Only lo is up, so any call az makes outside the machine fails at once (no DNS, no route).
# Exit 0 when every step did what it should; the emulator is stopped on exit.
set -euo pipefail
sdctl=$1 venv=$2 work=$3
ip link set lo up
cd -- "$work"
"$sdctl" emulator serve --state-dir "$work/emu" --hsm hsm-a --hsm hsm-b >"$work/emulator.log" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$work/emu/emulator.json" ] && break; sleep 0.1; done
[ -s "$work/emu/emulator.json" ] || { echo "emulator did not start" >&2; exit 1; }

py=$venv/bin/python
field() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(d, end="")' "$@"; }
url=$(field emu/emulator.json url)
hsm_a=$(field emu/emulator.json hsms hsm-a)
hsm_b=$(field emu/emulator.json hsms hsm-b)
tenant=$(field emu/admin-credentials.json tenant_id)
client=$(field emu/admin-credentials.json client_id)
(umask 077; field emu/admin-credentials.json client_secret >"$work/secret")

export AZURE_CONFIG_DIR=$work/azcfg
mkdir -p -- "$AZURE_CONFIG_DIR"
cp -- "$venv/sdctl-azure-config/config" "$AZURE_CONFIG_DIR/"
sed "s/\"update_time\": \"[^\"]*\"/\"update_time\": \"$(date '+%Y-%m-%d %H:%M:%S.%6N')\"/" \
  "$venv/sdctl-azure-config/versionCheck.json" >"$AZURE_CONFIG_DIR/versionCheck.json"
export AZURE_CORE_COLLECT_TELEMETRY=no AZURE_CORE_SURVEY_MESSAGE=no AZURE_CORE_NO_COLOR=yes
# MSAL would ask login.microsoftonline.com for instance discovery of an unknown authority.
export AZURE_CORE_INSTANCE_DISCOVERY=false
# Trust the emulator's CA (and nothing is verified less than usual).
export REQUESTS_CA_BUNDLE=$work/emu/ca.pem
unset PYTHONPATH PYTHONHOME
az=$venv/bin/az
step() { echo "+ az $*" >&2; timeout 120 "$az" "$@"; }

step cloud register --name SdctlEmulator --skip-endpoint-discovery \
  --endpoint-active-directory "$url" --endpoint-resource-manager "$url/" \
  --endpoint-active-directory-resource-id https://management.azure.com/ \
  --suffix-keyvault-dns .vault.azure.net >/dev/null
step cloud set --name SdctlEmulator
step login --service-principal --username "$client" --password @"$work/secret" \
  --tenant "$tenant" >"$work/login.json"
step keyvault security-domain download --id "$hsm_a" \
  --sd-wrapping-keys k1.cer k2.cer k3.cer --sd-quorum 2 --security-domain-file sd.json
step keyvault security-domain wait --id "$hsm_a" --target-operation download >"$work/wait-a.json"
step keyvault security-domain init-recovery --id "$hsm_b" --sd-exchange-key exch.cer
if step keyvault security-domain upload --id "$hsm_b" --sd-file sd.json \
  --sd-exchange-key exch.cer --sd-wrapping-keys k1.key; then
  echo "an upload below the quorum succeeded" >&2
  exit 1
fi
step keyvault security-domain upload --id "$hsm_b" --sd-file sd.json \
  --sd-exchange-key exch.cer --sd-wrapping-keys k1.key k3.key >"$work/upload.json"
step keyvault security-domain wait --id "$hsm_b" --target-operation upload >"$work/wait-b.json"
