#!/usr/bin/env bash
# Submits each pkg of DIST to Apple's notary service and staples the ticket
# (network; the API key file is in $OMNIPACK_NOTARY_API_KEY), then records the
# stapled bytes in DIST/release.json.
#   ci/notarize.sh DIST
set -euo pipefail
dist=${1:?usage: ci/notarize.sh DIST}
cd "$(dirname "$0")/.."
: "${OMNIPACK_NOTARY_API_KEY:?the notary API key file is not set}"

cargo build --release --locked -p omnipack --features notarize
shopt -s nullglob
pkgs=("$dist"/*.pkg)
if [ ${#pkgs[@]} -eq 0 ]; then
    echo "ci/notarize.sh: no pkg in $dist" >&2
    exit 1
fi
for pkg in "${pkgs[@]}"; do
    target/release/omnipack notarize "$pkg"
done
# Stapling changed the pkg's bytes: refresh sha256/size in release.json.
python3 - "$dist" <<'PY'
import hashlib, json, os, sys
dist = sys.argv[1]
path = os.path.join(dist, "release.json")
with open(path) as f:
    r = json.load(f)
for a in r["artifacts"]:
    if a["format"] == "pkg":
        with open(os.path.join(dist, a["path"]), "rb") as f:
            data = f.read()
        a["sha256"], a["size"] = hashlib.sha256(data).hexdigest(), len(data)
with open(path, "w") as f:
    json.dump(r, f, indent=2)
PY
