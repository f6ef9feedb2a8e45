{{ answers }}

op_apply
mkdir -p '{{ layout.state_dir }}' '{{ layout.log_dir }}'
