# Shared by the scripts: where caches live and how to install Debian tools.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Caches kept outside the clone so a fresh clone reuses them.
OMNIPACK_CACHE=${OMNIPACK_CACHE:-${HOME:-/root}/.cache/omnipack}
export OMNIPACK_CACHE

# apt_need PACKAGE:COMMAND... installs the packages whose command is missing.
apt_need() {
    missing=
    for pair in "$@"; do
        pkg=${pair%%:*} cmd=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    echo ">> installing:$missing" >&2
    sudo_=; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -q -o DPkg::Lock::Timeout=300
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 $missing
}
