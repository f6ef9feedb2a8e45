if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 0 ]; then
    # Erase: remove what the service wrote. Only the default temporary
    # directory, never one an administrator chose.
    rm -rf '{{ layout.state_dir }}' '{{ layout.log_dir }}' '{{ default_tmp }}'
fi
