#!/usr/bin/env bash
# Stop the private cluster start_slurm.sh started in DIR: cancel its jobs, then stop exactly
# the processes whose ids it wrote to DIR/pids (slurmd, slurmctld, munged), and wait until
# they are gone. Other SLURM or munge daemons on the machine are left alone.
# Usage: stop_slurm.sh DIR
set -uo pipefail

dir=${1:?usage: stop_slurm.sh DIR}
[ -f "$dir/pids" ] || exit 0
if [ -f "$dir/slurm.conf" ]; then
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --cluster=virnucpro-test --full \
        --user="$(id -un)" >/dev/null 2>&1 || true
fi
# ours and still the same program (a recorded id may since have been reused)
ours() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
# reverse start order: slurmd, slurmctld, munged
pids=""
while read -r pid name; do
    ours "$pid" "$name" && pids="$pids $pid" && kill -TERM "$pid" 2>/dev/null
done < <(tac "$dir/pids")
for pid in $pids; do
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
done
exit 0
