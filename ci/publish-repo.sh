#!/usr/bin/env bash
# Adds the release's deb and rpm to the signed apt and yum repository kept on
# the gh-pages branch (so earlier versions stay listed: `omnipack publish`
# never rewrites a published package), checked out at PAGES, and pushes it.
# The OpenPGP key is the release key, from the environment
# (OMNIPACK_OPENPGP_KEY, OMNIPACK_OPENPGP_PASSPHRASE).
#   ci/publish-repo.sh DIST OMNIPACK PAGES TAG
set -euo pipefail
dist=${1:?usage: ci/publish-repo.sh DIST OMNIPACK PAGES TAG}
omnipack=${2:?usage: ci/publish-repo.sh DIST OMNIPACK PAGES TAG}
pages=${3:?usage: ci/publish-repo.sh DIST OMNIPACK PAGES TAG}
tag=${4:?usage: ci/publish-repo.sh DIST OMNIPACK PAGES TAG}
# Without it omnipack would sign with a throwaway test key.
: "${OMNIPACK_OPENPGP_KEY:?the release OpenPGP key (secret OPENPGP_SIGNING_KEY) is not set}"
cd "$(dirname "$0")/.."
dist=$(realpath "$dist")
chmod +x "$omnipack"   # artifacts do not keep file modes

if git ls-remote --exit-code --heads origin gh-pages >/dev/null; then
    git fetch --depth 1 origin gh-pages
    git worktree add --detach "$pages" FETCH_HEAD
else
    git worktree add --detach "$pages" HEAD
    git -C "$pages" checkout -q --orphan gh-pages
    git -C "$pages" rm -rqf .
fi

SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export SOURCE_DATE_EPOCH
"$omnipack" publish --from "$dist" --repo-dir "$pages"
# Served as files, not a Jekyll site.
touch "$pages/.nojekyll"

git -C "$pages" add -A
git -C "$pages" -c user.name='github-actions[bot]' \
    -c user.email='41898282+github-actions[bot]@users.noreply.github.com' \
    commit -q -m "Publish $tag"
git -C "$pages" push origin HEAD:refs/heads/gh-pages
