#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the SLURM tests and for trying
# `python train.py -m hydra/launcher=slurm hydra.launcher.partition=debug ...` without a cluster.
#   src/mnist_cnn/extras/cluster/local_slurm.sh
#     -> prints "ready" (was running) or "started" once `sinfo` shows partition debug up (exit 0);
#        otherwise says why on stderr (exit 1).
# As root it installs Debian's slurmctld, slurmd, slurm-client and munge when missing (about 7 s
# from a package mirror), writes /etc/slurm/slurm.conf for this host (CPUs=2, no accounting,
# one partition `debug`) and starts munged, slurmctld and slurmd. A running cluster is left alone.
set -euo pipefail

say() { echo "local_slurm: $*" >&2; }
ready() { timeout 5 sinfo -h -p debug -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc|comp)'; }

if command -v sinfo >/dev/null && ready; then echo ready; exit 0; fi
if [ "$(id -u)" != 0 ]; then
  say "no SLURM cluster answers, and only root can install and start one here"; exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    say "SLURM is not installed and there is no apt-get: install slurmctld slurmd slurm-client munge"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  packages=(slurmctld slurmd slurm-client munge)
  if ! apt-get install -y -q "${packages[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true  # a fresh image may have no package lists yet
    apt-get install -y -q "${packages[@]}" >/dev/null 2>&1 \
      || { say "apt-get install ${packages[*]} failed (no package mirror reachable?)"; exit 1; }
  fi
fi

host=$(hostname -s)
mkdir -p /etc/slurm /etc/munge /run/munge /var/lib/munge /var/log/munge \
  /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged || { say "munged did not start"; exit 1; }
fi

cat > /etc/slurm/slurm.conf <<CONF
# Written by mnist-cnn src/mnist_cnn/extras/cluster/local_slurm.sh: one node, no accounting.
ClusterName=local
SlurmctldHost=${host}
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${host} CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld || { say "slurmctld did not start"; exit 1; }
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd || { say "slurmd did not start"; exit 1; }
for _ in $(seq 60); do
  if ready; then echo started; exit 0; fi
  # A node that was down (an earlier cluster's state) is taken back into service.
  scontrol update nodename="${host}" state=resume >/dev/null 2>&1 || true
  sleep 0.5
done
say "the cluster did not come up; see /var/log/slurm/slurmctld.log and slurmd.log"
exit 1
