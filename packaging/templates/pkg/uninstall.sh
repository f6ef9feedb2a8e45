#!/bin/sh
# Removes {{ product.name }} from this Mac (macOS has no uninstaller of its own).
# Run as root: sudo '{{ self_path }}'
# The administrator's settings ({{ layout.config_file }}) are {% if keep_config %}kept{% else %}removed{% endif %}, as the product manifest says.
set -eu
if [ "$(id -u)" != 0 ]; then
    echo "{{ product.id }}: run as root: sudo '{{ self_path }}'" >&2
    exit 1
fi
launchctl bootout 'system/{{ label }}' >/dev/null 2>&1 || true
rm -f '{{ plist }}'
rm -f '{{ layout.answers_file }}' '{{ layout.staged_answers }}'
{%- if not keep_config %}
rm -f '{{ layout.config_file }}'
{%- endif %}
rmdir '{{ config_dir }}' 2>/dev/null || true
rm -rf '{{ layout.log_dir }}' '{{ app_dir }}'
{%- for id in receipts %}
pkgutil --forget '{{ id }}' >/dev/null 2>&1 || true
{%- endfor %}
echo "{{ product.name }} was removed."
