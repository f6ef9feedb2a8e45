{{ answers }}

if [ "$1" -eq 1 ]; then
    op_collect install
    # %posttrans cannot tell install from upgrade on rpm < 4.12.
    mkdir -p "$op_state"
    touch "$op_state/.fresh-install"
else
    op_refuse_downgrade
    op_collect upgrade
fi
