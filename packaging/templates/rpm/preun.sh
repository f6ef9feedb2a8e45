if [ "$1" -eq 0 ]; then
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --no-reload disable '{{ unit }}' >/dev/null 2>&1 || :
    fi
    if [ -d /run/systemd/system ]; then
        systemctl stop '{{ unit }}' >/dev/null 2>&1 || :
    fi
fi
