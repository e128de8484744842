#!/usr/bin/env bash
# Brings up a single-node Slurm cluster on this machine from Debian's packages (munge, slurmctld,
# slurmd, slurm-client), without systemd: for development and for the tests that submit real jobs.
# Idempotent: a running cluster is left alone. Needs root (or sudo). State lives in $TROVE_SLURM_DIR.
#
#   bash xtask/cluster/slurm-single-node.sh      # then: sinfo, sbatch, squeue, ...
set -euo pipefail
state=${TROVE_SLURM_DIR:-/tmp/trove-slurm}
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
        || { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi

if sinfo -h -o %T 2>/dev/null | grep idle >/dev/null; then
    echo "slurm: already up"; sinfo; exit 0
fi

# munge: the key the packages created, its run folder, the daemon.
$sudo mkdir -p /run/munge "$state"/{spool,state,log}
[ -s /etc/munge/munge.key ] || $sudo mungekey --create
$sudo chown munge:munge /etc/munge/munge.key /run/munge
$sudo chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || $sudo -u munge /usr/sbin/munged 2>/dev/null || $sudo runuser -u munge -- /usr/sbin/munged

# slurm.conf: this node as `slurmd -C` describes it, one partition.
# Not `head`: under pipefail a closed pipe (SIGPIPE, 141) would end the script.
node=$(slurmd -C | sed -n 1p)
host=$(hostname -s)
$sudo mkdir -p /etc/slurm
$sudo tee /etc/slurm/slurm.conf >/dev/null <<EOF
ClusterName=trove
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

pgrep -x slurmctld >/dev/null || $sudo slurmctld
pgrep -x slurmd >/dev/null || $sudo slurmd
for _ in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep idle >/dev/null; then
        echo "slurm: up"; sinfo; exit 0
    fi
    sleep 1
done
echo "slurm: the node did not become idle; logs in $state/log" >&2
tail -20 "$state"/log/*.log >&2 || true
exit 1
