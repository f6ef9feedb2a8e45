#!/usr/bin/env bash
# What the Windows job needs besides the release to prove an upgrade and a
# patch, made the way tests/windows_lifecycle.rs and tests/windows_patch.rs
# make theirs, with `omnipack build --manifest`, signed with the release's
# Authenticode key (the environment's OMNIPACK_AUTHENTICODE_*):
#   OUT/older/    the MSIs of an older release: the manifest with its version
#                 lowered by one minor (or major) step, so another ProductCode:
#                 installing the release over it is a major upgrade;
#   OUT/hotfix/   the MSIs of the next patch version (same ProductCode), with an
#                 x64 agent that differs from the release's by one appended byte;
#   OUT/*.msp     `omnipack patch` from the release's x64 MSI to the hotfix's;
#   OUT/ca/       the custom action DLLs, taken out of the release's MSIs
#                 (Binary table) for Get-AuthenticodeSignature;
#   OUT/versions.json  the three versions and the hotfix agent's SHA-256.
#   ci/windows-fixtures.sh DIST OUT
set -euo pipefail
dist=${1:?usage: ci/windows-fixtures.sh DIST OUT}
out=${2:?usage: ci/windows-fixtures.sh DIST OUT}
cd "$(dirname "$0")/.."

omnipack() { cargo run --release --locked -q -p omnipack -- "$@"; }

manifest=packaging/outpost.toml
# The product's version line, the one line the tests rewrite as well.
lines=$(grep -c '^version = "[0-9]*\.[0-9]*\.[0-9]*"$' "$manifest" || true)
if [ "$lines" != 1 ]; then
    echo "$manifest: expected one line \`version = \"X.Y.Z\"\`, found $lines" >&2
    exit 1
fi
version=$(sed -n 's/^version = "\([0-9]*\.[0-9]*\.[0-9]*\)"$/\1/p' "$manifest")
IFS=. read -r major minor patch <<<"$version"
if [ "$minor" -gt 0 ]; then
    older="$major.$((minor - 1)).0"
elif [ "$major" -gt 0 ]; then
    older="$((major - 1)).0.0"
else
    echo "$manifest: version $version has no older major.minor to upgrade from" >&2
    exit 1
fi
hotfix="$major.$minor.$((patch + 1))"
release_msi="$dist/outpost-$version-x64.msi"
[ -f "$release_msi" ] || { echo "$release_msi: missing (is $dist the build of $manifest?)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/manifests" "$out/ca"
with_version() {
    sed "s/^version = \"$version\"\$/version = \"$1\"/" "$manifest" > "$out/manifests/outpost-$1.toml"
    echo "$out/manifests/outpost-$1.toml"
}

omnipack build --formats msi --manifest "$(with_version "$older")" --out "$out/older"

agent=$(omnipack agent --target x86_64-pc-windows-gnu)
hotfix_agent="$out/manifests/outpost-agent-$hotfix-x64.exe"
cp "$agent" "$hotfix_agent"
printf '\0' >> "$hotfix_agent"
omnipack build --formats msi --manifest "$(with_version "$hotfix")" --out "$out/hotfix" \
    --agent-bin "x86_64-pc-windows-gnu=$hotfix_agent"
msp="$out/outpost-$hotfix-x64-from-$version.msp"
omnipack patch --from "$release_msi" --to "$out/hotfix/outpost-$hotfix-x64.msi" --out "$msp"

# The agent as the hotfix MSI installs it (signed): what the patch must put
# on disk.
extracted=$(mktemp -d)
trap 'rm -rf "$extracted"' EXIT
msiextract -C "$extracted" "$out/hotfix/outpost-$hotfix-x64.msi" >/dev/null
installed_agent=$(find "$extracted" -name outpost-agent.exe -print -quit)
[ -n "$installed_agent" ] || { echo "no outpost-agent.exe in the hotfix MSI" >&2; exit 1; }
hotfix_sha256=$(sha256sum "$installed_agent" | cut -d' ' -f1)

for arch in x64 x86; do
    msi="$dist/outpost-$version-$arch.msi"
    streams=$(msiinfo streams "$msi" | grep '^Binary\.' || true)
    [ -n "$streams" ] || { echo "$msi: no Binary stream (custom action DLL)" >&2; exit 1; }
    for stream in $streams; do
        msiinfo extract "$msi" "$stream" > "$out/ca/${stream#Binary.}-$arch.dll"
    done
done

jq -n --arg release "$version" --arg older "$older" --arg hotfix "$hotfix" \
    --arg msp "$(basename "$msp")" --arg agent "$hotfix_sha256" \
    '{release: $release, older: $older, hotfix: $hotfix, msp: $msp, hotfix_agent_sha256: $agent}' \
    > "$out/versions.json"
cat "$out/versions.json"
