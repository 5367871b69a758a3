#!/usr/bin/env bash
# A real one-node Slurm cluster on localhost, without systemd, for developing and
# testing quantgrid's Slurm backend.
#
#   deploy/slurm-local.sh up       start munged, slurmctld, slurmd; wait until the node is idle
#   deploy/slurm-local.sh down     stop what `up` started (pid files), cancel its jobs
#   deploy/slurm-local.sh status   is it up? (sinfo)
#
# Everything Slurm writes lives in one state directory; /etc/slurm is never touched.
# Client commands find the cluster through SLURM_CONF, which `up` prints:
#   export SLURM_CONF=/tmp/quantgrid-slurm/slurm.conf
#
# Environment:
#   QG_SLURM_DIR      state directory (default /tmp/quantgrid-slurm): slurm.conf, spool, logs,
#                     pid files, the job completion log jobcomp.txt
#   QG_SLURM_TIMEOUT  seconds `up` waits for the node to become idle (default 60)
#   QG_SLURM_CTLD_PORT, QG_SLURM_D_PORT   ports (default 6817, 6818)
#   QG_SLURM_CPUS     CPUs the node offers (default nproc); more than the machine has lets
#                     tasks that mostly wait (scheduling probes, tests) run side by side
#
# Accounting: there is no slurmdbd, so plain `sacct` says "Slurm accounting storage is
# disabled". Finished jobs stay visible to `squeue -t all` and `scontrol show job ID` for
# MinJobAge=300 s (purged 5-6 min after they end), and every finished job gets one line in
# $QG_SLURM_DIR/jobcomp.txt (JobState=COMPLETED|FAILED|CANCELLED|TIMEOUT|..., ExitCode=...),
# which `sacct -c` also reads (it warns about the ArrayJobId/ArrayTaskId fields).
# Jobs without --mem get DefMemPerCPU (node memory / CPUs); EnforcePartLimits=ALL makes
# sbatch reject requests no node can satisfy instead of leaving them pending forever.
#
# munged: an already running munged on the default socket (/run/munge/munge.socket.2)
# is reused and left alone by `down`; only a munged this script started is stopped.
set -euo pipefail

prog="slurm-local"
state="${QG_SLURM_DIR:-/tmp/quantgrid-slurm}"
timeout_s="${QG_SLURM_TIMEOUT:-60}"
ctld_port="${QG_SLURM_CTLD_PORT:-6817}"
node_cpus="${QG_SLURM_CPUS:-}"
d_port="${QG_SLURM_D_PORT:-6818}"
conf="$state/slurm.conf"
node="localhost"
munge_socket="/run/munge/munge.socket.2"
munge_key="/etc/munge/munge.key"

say()  { echo "$prog: $*"; }
die()  { echo "$prog: error: $*" >&2; exit 1; }
# die with the tail of a log file first
die_log() {
  local log="$1"; shift
  if [[ -s "$log" ]]; then
    echo "$prog: --- last lines of $log ---" >&2
    tail -n 20 "$log" >&2
    echo "$prog: ---" >&2
  fi
  die "$*"
}

usage() { echo "usage: $0 up|down|status" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
cmd="$1"
case "$cmd" in up|down|status) ;; *) usage ;; esac

# The daemons need root (munged is started as the munge user; slurmd launches jobs as
# their owners). `status` does not.
if [[ "$cmd" != status && "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "'$cmd' needs root, and sudo is not installed"
  say "not root: re-running through sudo"
  exec sudo QG_SLURM_DIR="$state" QG_SLURM_TIMEOUT="$timeout_s" QG_SLURM_CPUS="$node_cpus" \
    QG_SLURM_CTLD_PORT="$ctld_port" QG_SLURM_D_PORT="$d_port" "$0" "$@"
fi

export SLURM_CONF="$conf"

# --- helpers ---------------------------------------------------------------------------
# pid from a pid file, if that process is alive and runs the expected program
live_pid() {
  local file="$1" name="$2" pid comm
  [[ -s "$file" ]] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [[ -n "$pid" ]] || return 1
  comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
  [[ "$comm" == "$name" ]] || return 1
  echo "$pid"
}

munge_works() { munge -n -S "$munge_socket" 2>/dev/null | unmunge -S "$munge_socket" >/dev/null 2>&1; }

node_state() { sinfo -h -n "$node" -o '%T' 2>/dev/null | head -n1; }

# stop one process by pid: TERM, wait up to 15 s, then KILL
stop_pid() {
  local pid="$1" name="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "$name (pid $pid) ignored SIGTERM for 15 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

# pids of a process's descendants, children first listed before their own children
descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}

# stop a slurmstepd and its job: TERM the job processes, wait up to 5 s, then KILL all
kill_tree() {
  local top="$1" pids i alive p
  read -r -a pids <<<"$(descendants "$top" | tr '\n' ' ')"
  if (( ${#pids[@]} )); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      alive=0
      for p in "${pids[@]}"; do   # zombies count as gone
        [[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" =~ ^[^Z]$ ]] && alive=1
      done
      (( alive )) || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  kill -KILL "$top" 2>/dev/null || true
  sleep 0.2
}

# --- status ----------------------------------------------------------------------------
do_status() {
  if [[ ! -f "$conf" ]]; then
    say "down (no $conf)"
    return 1
  fi
  local name pid missing=""
  for name in munged slurmctld slurmd; do
    if pid="$(live_pid "$state/$name.pid" "$name")"; then
      say "$name: running (pid $pid)"
    elif [[ "$name" == munged ]] && munge_works; then
      say "munged: running (not started by this script)"
    else
      say "$name: not running"
      missing+=" $name"
    fi
  done
  local out
  if out="$(sinfo 2>&1)" && [[ -n "$(node_state)" && -z "$missing" ]]; then
    say "up (state dir $state)"
    echo "$out"
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  say "down or degraded (missing:${missing:- none}; sinfo: $(echo "$out" | head -n1))"
  return 1
}

# --- up --------------------------------------------------------------------------------
start_munge() {
  if munge_works; then
    if live_pid "$state/munged.pid" munged >/dev/null; then
      say "munged: already running (started by this script)"
    else
      say "munged: a munged is already running on $munge_socket; reusing it"
    fi
    return 0
  fi
  id munge >/dev/null 2>&1 || die "user 'munge' does not exist (is the munge package installed?)"
  command -v munged >/dev/null 2>&1 || die "munged not found (apt-get install munge)"

  if [[ ! -s "$munge_key" ]]; then
    say "munge: creating key $munge_key"
    install -d -o munge -g munge -m 0700 "$(dirname "$munge_key")"
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$munge_key" --force >/dev/null
    else
      dd if=/dev/urandom of="$munge_key" bs=1 count=1024 status=none
    fi
    chown munge:munge "$munge_key"
    chmod 0400 "$munge_key"
  fi

  # munged insists on directories owned by munge and not writable by others
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge "$state/munge"
  local log="$state/munge/munged.log" pidfile="$state/munge/munged.pid"
  rm -f "$pidfile"
  say "munged: starting as user munge (log $log)"
  if ! runuser -u munge -- munged --socket="$munge_socket" --key-file="$munge_key" \
       --pid-file="$pidfile" --log-file="$log" >>"$state/munge-start.out" 2>&1; then
    cat "$state/munge-start.out" >&2 || true
    die_log "$log" "munged failed to start"
  fi
  local i
  for ((i = 0; i < 50; i++)); do
    munge_works && break
    sleep 0.1
  done
  munge_works || die_log "$log" "munged started but munge/unmunge does not work"
  local pid
  pid="$(live_pid "$pidfile" munged)" || die_log "$log" "munged wrote no pid file"
  echo "$pid" >"$state/munged.pid"
  say "munged: running (pid $pid)"
}

write_conf() {
  local cpus mem_mb overrides=""
  cpus="${node_cpus:-$(nproc)}"
  # More CPUs than slurmd finds would drain the node: tell it to take the configuration's word.
  [[ "$cpus" -gt "$(nproc)" ]] && overrides="SlurmdParameters=config_overrides"
  # RealMemory in MiB, as slurmd itself computes it (slurmd -C); a larger value drains the node
  mem_mb="$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
  [[ "$mem_mb" -gt 0 ]] || die "cannot read MemTotal from /proc/meminfo"
  install -d -m 0755 "$state" "$state/log"
  install -d -m 0700 "$state/ctld" "$state/spool"
  local tmp="$conf.tmp"
  cat >"$tmp" <<EOF
# Written by deploy/slurm-local.sh: a one-node cluster on localhost. Regenerated by every 'up'.
ClusterName=quantgrid
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
# reject at submission what no node/partition can ever run (else it pends forever, Reason=PartitionConfig)
EnforcePartLimits=ALL
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No slurmdbd: plain sacct is unavailable. Finished jobs: scontrol show job (for MinJobAge
# seconds) and one line per job in the completion log below (also read by 'sacct -c').
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state/jobcomp.txt
MinJobAge=300
$overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
# Without DefMemPerCPU a job that gives no --mem gets the whole node's memory, and only one
# job runs at a time: give each CPU an equal share by default.
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=$(( mem_mb / cpus ))
EOF
  if [[ -f "$conf" ]] && cmp -s "$tmp" "$conf"; then
    rm -f "$tmp"
  else
    if live_pid "$state/slurmctld.pid" slurmctld >/dev/null || live_pid "$state/slurmd.pid" slurmd >/dev/null; then
      say "note: slurm.conf changed while a daemon runs; run 'down' then 'up' to apply it everywhere"
    fi
    mv "$tmp" "$conf"
  fi
  say "slurm.conf: $conf (CPUs=$cpus RealMemory=${mem_mb}M, partition debug)"
}

start_daemon() {   # name, log, command...
  local name="$1" log="$2"; shift 2
  local pid
  if pid="$(live_pid "$state/$name.pid" "$name")"; then
    say "$name: already running (pid $pid)"
    return 0
  fi
  rm -f "$state/$name.pid"
  say "$name: starting (log $log)"
  if ! "$@" >>"$state/$name-start.out" 2>&1; then
    cat "$state/$name-start.out" >&2 || true
    die_log "$log" "$name failed to start"
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    pid="$(live_pid "$state/$name.pid" "$name")" && break
    sleep 0.1
  done
  [[ -n "${pid:-}" ]] || die_log "$log" "$name exited right after starting"
  say "$name: running (pid $pid)"
}

do_up() {
  command -v slurmctld >/dev/null 2>&1 || die "slurmctld not found (apt-get install slurm-wlm)"
  if [[ -f "$conf" ]] && live_pid "$state/slurmctld.pid" slurmctld >/dev/null &&
     live_pid "$state/slurmd.pid" slurmd >/dev/null && munge_works &&
     [[ "$(node_state)" == idle* || "$(node_state)" == mix* || "$(node_state)" == alloc* ]]; then
    say "already up (node $(node_state)); nothing to do"
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  local t0=$SECONDS
  install -d -m 0755 "$state"
  start_munge
  write_conf
  start_daemon slurmctld "$state/log/slurmctld.log" slurmctld -f "$conf"
  start_daemon slurmd "$state/log/slurmd.log" slurmd -f "$conf" -N "$node"

  say "waiting up to ${timeout_s}s for node $node to become idle"
  local st="" last=""
  while (( SECONDS - t0 <= timeout_s )); do
    st="$(node_state)"
    case "$st" in
      idle*|mix*|alloc*) break ;;
    esac
    if [[ "$st" != "$last" ]]; then say "  node state: ${st:-<controller not answering yet>}"; last="$st"; fi
    live_pid "$state/slurmctld.pid" slurmctld >/dev/null || die_log "$state/log/slurmctld.log" "slurmctld died"
    live_pid "$state/slurmd.pid" slurmd >/dev/null || die_log "$state/log/slurmd.log" "slurmd died"
    sleep 1
  done
  case "$st" in
    idle*|mix*|alloc*) ;;
    *)
      scontrol show node "$node" 2>&1 | grep -E 'State=|Reason=' >&2 || true
      die_log "$state/log/slurmd.log" "node $node not idle after ${timeout_s}s (state: ${st:-unknown})" ;;
  esac
  say "up in $(( SECONDS - t0 ))s: node $node is $st"
  sinfo
  echo "export SLURM_CONF=$conf"
}

# --- down ------------------------------------------------------------------------------
do_down() {
  local pid any=0
  if [[ -f "$conf" ]] && live_pid "$state/slurmctld.pid" slurmctld >/dev/null; then
    local jobs
    jobs="$(squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ')"
    if [[ -n "${jobs// /}" ]]; then
      say "cancelling jobs: $jobs"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      local i
      for ((i = 0; i < 50; i++)); do
        [[ -z "$(squeue -h -o '%A' 2>/dev/null)" ]] && break
        sleep 0.2
      done
    fi
  fi
  for name in slurmd slurmctld; do
    if pid="$(live_pid "$state/$name.pid" "$name")"; then
      say "$name: stopping (pid $pid)"
      stop_pid "$pid" "$name"
      any=1
    else
      say "$name: not running"
    fi
    rm -f "$state/$name.pid"
  done
  # Job step daemons outlive slurmd by design, and jobs that could not be cancelled (controller
  # already dead) keep running under them. Stop the ones that belong to this state dir (they
  # hold its slurmd.log open), job processes first: slurmstepd ignores SIGTERM.
  local fd
  for pid in $(pgrep -x slurmstepd || true); do
    for fd in "/proc/$pid/fd/"*; do
      if [[ "$(readlink "$fd" 2>/dev/null)" == "$state/"* ]]; then
        say "slurmstepd: stopping leftover pid $pid and its job processes"
        kill_tree "$pid"
        break
      fi
    done
  done
  if pid="$(live_pid "$state/munged.pid" munged)"; then
    say "munged: stopping (pid $pid)"
    stop_pid "$pid" munged
    any=1
  elif munge_works; then
    say "munged: not started by this script; left running"
  else
    say "munged: not running"
  fi
  rm -f "$state/munged.pid"
  if (( any )); then say "down"; else say "was not up"; fi
}

case "$cmd" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
esac
