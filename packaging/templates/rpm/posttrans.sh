if [ -e '{{ layout.state_dir }}/.fresh-install' ]; then
    rm -f '{{ layout.state_dir }}/.fresh-install'
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --no-reload enable '{{ unit }}' >/dev/null 2>&1 || :
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null 2>&1 || :
        systemctl start '{{ unit }}' >/dev/null 2>&1 || :
    fi
elif [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    systemctl try-restart '{{ unit }}' >/dev/null 2>&1 || :
fi
