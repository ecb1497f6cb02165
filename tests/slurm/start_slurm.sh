#!/usr/bin/env bash
# Start a one-node SLURM cluster on localhost (Debian slurm-wlm + munge, run as root, no
# systemd): partitions `cpu` (default) and `gpu`, one fake GPU GRES on /dev/null, no
# accounting database. Facts behind each setting: ../../../shared/slurm/README.md.
# Usage: start_slurm.sh [install]   (install: apt-get the packages first)
set -euo pipefail

if [ "${1:-}" = "install" ] && ! command -v slurmctld >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed" >&2; exit 3; }

host=$(hostname -s)
mkdir -p /run/munge /run/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || /usr/sbin/mungekey --create >/dev/null 2>&1 || true
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged

node_line=$(slurmd -C | head -n 1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")

cat > /etc/slurm/slurm.conf <<CONF
ClusterName=virnucpro-ci
SlurmctldHost=${host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
ReturnToService=2
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
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
echo "NodeName=${host} Name=gpu File=/dev/null" > /etc/slurm/gres.conf

pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
for _ in $(seq 1 20); do
    pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
    sleep 0.5
done
slurmctld -c   # -c: start from a clean state, no jobs recovered from an earlier run
slurmd -c
for _ in $(seq 1 90); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed'; then
        sinfo
        exit 0
    fi
    sleep 1
done
echo "SLURM did not come up" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
