#!/usr/bin/env bash
# The macOS job: Apple's own tools on the signed, notarized pkg from dist/.
#   ci/macos.sh signatures|install|slices|uninstall
set -euo pipefail
cd "$(dirname "$0")/.."

agent="/Library/Application Support/Outpost/outpost-agent"

the_pkg() {
    shopt -s nullglob
    local pkgs=(dist/*.pkg)
    if [ ${#pkgs[@]} -ne 1 ]; then
        echo "expected one pkg in dist/, found ${#pkgs[@]}" >&2
        exit 1
    fi
    echo "${pkgs[0]}"
}

signatures() {
    local pkg
    pkg=$(the_pkg)
    pkgutil --check-signature "$pkg"
    spctl -a -vv -t install "$pkg"
    xcrun stapler validate "$pkg"
    rm -rf expanded
    pkgutil --expand-full "$pkg" expanded
    codesign -dvvv --verify --strict "expanded/com.outpost.client.client.pkg/Payload/Library/Application Support/Outpost/outpost-agent"
}

install() {
    local pkg
    pkg=$(the_pkg)
    installer -pkg "$pkg" -target / -showChoiceChangesXML > choices.plist
    /usr/libexec/PlistBuddy -c 'Print' choices.plist
    cat > deselect.plist <<'PLIST'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><array><dict>
  <key>choiceIdentifier</key><string>platform</string>
  <key>choiceAttribute</key><string>selected</string>
  <key>attributeSetting</key><integer>0</integer>
</dict></array></plist>
PLIST
    sudo installer -pkg "$pkg" -target / -applyChoiceChangesXML deselect.plist
    test ! -e "/Library/Application Support/Outpost/features/platform.feature"
    sudo installer -pkg "$pkg" -target /
    test -e "/Library/Application Support/Outpost/features/platform.feature"
    pkgutil --pkgs | grep com.outpost.client
    sudo launchctl print system/com.outpost.client.agent
    sudo "$agent" config show
}

slices() {
    xcrun vtool -arch x86_64 -show-build "$agent" | grep -E 'minos 10\.14$'
    xcrun vtool -arch arm64 -show-build "$agent" | grep -E 'minos 11\.0$'
    # The pkg allows macOS 10.14, where only the x86_64 slice runs. No runner has 10.14
    # (this one is Apple Silicon), so run that slice here at least.
    /usr/bin/arch -x86_64 /usr/bin/true 2>/dev/null || sudo softwareupdate --install-rosetta --agree-to-license
    sudo /usr/bin/arch -x86_64 "$agent" config show
}

uninstall() {
    sudo "/Library/Application Support/Outpost/uninstall.sh"
    if pkgutil --pkgs | grep com.outpost.client; then
        echo "a com.outpost.client receipt is left after uninstall.sh" >&2
        exit 1
    fi
}

case "${1:-}" in
    signatures | install | slices | uninstall) "$1" ;;
    *)
        echo "usage: ci/macos.sh signatures|install|slices|uninstall" >&2
        exit 2
        ;;
esac
