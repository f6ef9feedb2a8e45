#!/usr/bin/env bash
# Fails when any release.json given lists an artifact signed with omnipack's
# throwaway test key (a signing key missing from the secret store makes a
# build fall back to it, loudly, but successfully).
#   ci/refuse-test-signed.sh RELEASE.JSON...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: ci/refuse-test-signed.sh RELEASE.JSON..." >&2; exit 2; }
status=0
for release in "$@"; do
    if [ "$(jq '.artifacts | length' "$release")" -eq 0 ]; then
        echo "$release: lists no artifact" >&2
        status=1
    fi
    test_signed=$(jq -r '.artifacts[] | select(.test_signed) | "  " + .path' "$release")
    if [ -n "$test_signed" ]; then
        echo "$release: signed with a throwaway test key:" >&2
        echo "$test_signed" >&2
        status=1
    fi
done
exit "$status"
