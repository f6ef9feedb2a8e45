#!/usr/bin/env bash
# Creates the GitHub release for TAG (gh, token in $GH_TOKEN) carrying what an
# administrator downloads: the bundles, SHA256SUMS and its detached signature,
# the SBOMs and release.json. The tag must name the version that was built.
#   ci/release.sh DIST TAG
set -euo pipefail
dist=${1:?usage: ci/release.sh DIST TAG}
tag=${2:?usage: ci/release.sh DIST TAG}
: "${GH_TOKEN:?GH_TOKEN (the workflow token) is not set}"

version=$(jq -r '[.artifacts[].version] | unique | if length == 1 then .[0] else error("release.json lists several versions: \(.)") end' "$dist/release.json")
if [ "$tag" != "v$version" ]; then
    echo "tag $tag does not name the version built, $version (expected v$version)" >&2
    exit 1
fi

shopt -s nullglob
files=()
for pattern in '*.zip' SHA256SUMS SHA256SUMS.asc '*.cdx.json' release.json; do
    # shellcheck disable=SC2206 # the pattern is meant to expand here
    matched=("$dist"/$pattern)
    if [ ${#matched[@]} -eq 0 ]; then
        echo "$dist: nothing matches $pattern" >&2
        exit 1
    fi
    files+=("${matched[@]}")
done
# Each download must be checkable: every bundle and SBOM is in SHA256SUMS.
listed=$(awk '{ sub(/^\*/, "", $2); print $2 }' "$dist/SHA256SUMS")
for f in "${files[@]}"; do
    case $(basename "$f") in
        *.zip | *.cdx.json)
            if ! grep -qxF "$(basename "$f")" <<<"$listed"; then
                echo "$dist/SHA256SUMS does not list $(basename "$f")" >&2
                exit 1
            fi
            ;;
    esac
done

notes=$(mktemp)
trap 'rm -f "$notes"' EXIT
{
    echo "Outpost Client $version."
    echo
    echo "Check the downloads with \`sha256sum -c --ignore-missing SHA256SUMS\`, and SHA256SUMS"
    echo "with \`gpgv --keyring ./outpost-archive-keyring.gpg SHA256SUMS.asc SHA256SUMS\` (the release"
    echo "key: in the non-Windows bundle, and at the top of the apt/yum repository)."
    echo
    echo '```'
    cat "$dist/SHA256SUMS"
    echo '```'
} > "$notes"
gh release create "$tag" --verify-tag --title "Outpost Client $version" --notes-file "$notes" "${files[@]}"
