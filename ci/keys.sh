#!/usr/bin/env bash
# Writes the signing identities from the secret store (environment variables,
# never arguments, never echoed) into DIR, readable by this user only; with
# --remove, deletes them again (run whatever happened before).
#   ci/keys.sh DIR
#   ci/keys.sh --remove DIR
set -euo pipefail

files=(codesign.p12 devid-app.p12 devid-inst.p12 notary-key.json)

if [ "${1:-}" = --remove ]; then
    dir=${2:?usage: ci/keys.sh --remove DIR}
    for f in "${files[@]}"; do rm -f "$dir/$f"; done
    exit 0
fi
dir=${1:?usage: ci/keys.sh DIR}

# A missing secret would otherwise give an empty key file and, later, a
# confusing signing error; name it here (the name, never the value).
for var in AUTHENTICODE_P12_BASE64 APPLE_DEVID_APPLICATION_P12_BASE64 \
    APPLE_DEVID_INSTALLER_P12_BASE64 APP_STORE_CONNECT_API_KEY_JSON; do
    if [ -z "${!var:-}" ]; then
        echo "ci/keys.sh: the secret behind \$$var is empty or not set" >&2
        exit 1
    fi
done

umask 077
mkdir -p "$dir"
printf '%s' "$AUTHENTICODE_P12_BASE64" | base64 -d > "$dir/codesign.p12"
printf '%s' "$APPLE_DEVID_APPLICATION_P12_BASE64" | base64 -d > "$dir/devid-app.p12"
printf '%s' "$APPLE_DEVID_INSTALLER_P12_BASE64" | base64 -d > "$dir/devid-inst.p12"
printf '%s' "$APP_STORE_CONNECT_API_KEY_JSON" > "$dir/notary-key.json"
