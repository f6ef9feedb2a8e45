#!/usr/bin/env bash
# Builds and signs every artifact into dist/ with the README's build command,
# reproducibly: SOURCE_DATE_EPOCH is the commit's time. The keys come from the
# environment the workflow sets (OMNIPACK_* variables, see README).
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export SOURCE_DATE_EPOCH
./scripts/build
