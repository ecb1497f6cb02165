#!/usr/bin/env bash
# Start a private one-node SLURM cluster on localhost, entirely inside DIR: its own munged
# (key, socket), slurmctld and slurmd on free ports, with their configuration, state, spool,
# logs and pid files under DIR. Nothing outside DIR is written: /etc/slurm and /etc/munge
# are not touched, no daemon already running is stopped or restarted.
# Partitions `cpu` (default) and `gpu`, one fake GPU GRES on /dev/null, no accounting
# database. Facts behind each setting: ../../../shared/slurm/README.md.
#
# Usage: start_slurm.sh DIR   (root; Debian's slurm-wlm and munge installed)
# Then use the cluster with SLURM_CONF=DIR/slurm.conf and PATH=DIR/bin:$PATH; stop it with stop_slurm.sh DIR, which
# stops exactly the processes whose ids this script wrote to DIR/pids.
# Exit status 3: cannot run here (not root, packages missing); the caller skips.
set -euo pipefail

dir=${1:?usage: start_slurm.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
for tool in slurmctld slurmd munged mungekey scontrol sinfo; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (slurm-wlm, munge)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "the daemons must run as root" >&2; exit 3; }

mkdir -p "$dir"/{munge,state,spool,log,run}
chmod 700 "$dir/munge"
: > "$dir/pids"

# munge: our own key and socket (slurm finds it through AuthInfo below)
mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
munged --force --socket="$socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed"
for _ in $(seq 1 50); do [ -s "$dir/run/munged.pid" ] && break; sleep 0.1; done
echo "$(cat "$dir/run/munged.pid") munged" >> "$dir/pids"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

host=$(hostname -s)
node_line=$(slurmd -C | head -n 1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")

cat > "$dir/slurm.conf" <<CONF
ClusterName=virnucpro-test
SlurmctldHost=${host}
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${socket}
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
ReturnToService=2
SlurmctldPidFile=${dir}/run/slurmctld.pid
SlurmdPidFile=${dir}/run/slurmd.pid
SlurmdSpoolDir=${dir}/spool
StateSaveLocation=${dir}/state
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
PlugStackConfig=${dir}/plugstack.conf
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=60
DefMemPerCPU=1000
GresTypes=gpu
NodeName=${host} CPUs=${cpus} RealMemory=${memory} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=${host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=${host} MaxTime=INFINITE State=UP
CONF
echo "NodeName=${host} Name=gpu File=/dev/null" > "$dir/gres.conf"
: > "$dir/plugstack.conf"
export SLURM_CONF="$dir/slurm.conf"
# Inside a job, snakemake's jobstep executor drops every SLURM_* variable (SLURM_CONF too)
# before its nested `srun`, which would then look for /etc/slurm/slurm.conf: callers put
# DIR/bin first on PATH (exported to the jobs) so that srun finds this cluster.
mkdir -p "$dir/bin"
printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$SLURM_CONF" "$(command -v srun)" > "$dir/bin/srun"
chmod 755 "$dir/bin/srun"

wait_pid_file() {  # FILE NAME: record "pid name" in DIR/pids
    for _ in $(seq 1 100); do
        [ -s "$1" ] && { echo "$(cat "$1") $2" >> "$dir/pids"; return 0; }
        sleep 0.1
    done
    echo "$1 was not written" >&2
    return 1
}
slurmctld -f "$SLURM_CONF" -c   # -c: clean state, no jobs recovered from an earlier run
wait_pid_file "$dir/run/slurmctld.pid" slurmctld
slurmd -f "$SLURM_CONF" -c
wait_pid_file "$dir/run/slurmd.pid" slurmd

for _ in $(seq 1 90); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed'; then
        sinfo
        exit 0
    fi
    sleep 1
done
echo "SLURM did not come up" >&2
tail -n 20 "$dir"/log/*.log >&2 || true
exit 1
