{{ answers }}

op_apply
op_record_version
mkdir -p '{{ layout.state_dir }}' '{{ layout.log_dir }}'
