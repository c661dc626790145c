#!/usr/bin/env bash
# Runs examples/slurm FOR REAL on a single-node Slurm started here (Debian's slurmctld, slurmd, munge; as root, without
# systemd, from a generated slurm.conf on free ports): the array job over a small dataset, then the dependent merge;
# the report must equal one unsharded `hlip eval` byte for byte. Also checks examples/k8s: the manifests parse (Debian's
# python3-yaml) and run the same command lines as the Slurm scripts. Bounded in time; the daemons it started are
# stopped by PID whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ]; then exec sudo -E bash "$0" "$@"; fi
for b in slurmctld slurmd sbatch munged mungekey; do command -v $b >/dev/null || PATH=$PATH:/usr/sbin; done
for b in slurmctld slurmd sbatch scontrol munged; do
  command -v $b >/dev/null || { echo "slurm test: $b missing (scripts/install-system.sh installs slurmctld slurmd slurm-client munge)"; exit 1; }
done
PY=/usr/bin/python3
W=$(mktemp -d /tmp/hlip-slurm-XXXXXX)
B=$W/slurm
mkdir -p $B/etc $B/state $B/spool $B/log $B/run
export SLURM_CONF=$B/etc/slurm.conf
STARTED_MUNGE=

cleanup() {
  set +e
  kill "$WATCHDOG" 2>/dev/null
  [ -s $B/run/slurmctld.pid ] && scancel --user=root >/dev/null 2>&1
  for name in slurmd slurmctld; do
    f=$B/run/$name.bgpid
    [ -s "$f" ] || continue
    p=$(cat "$f")
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p"
  done
  if [ -n "$STARTED_MUNGE" ]; then kill -TERM "$STARTED_MUNGE" 2>/dev/null; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT
trap 'echo "slurm test: interrupted" >&2; exit 1' TERM INT
# Bounded: whatever hangs (a daemon, a job), the test ends within 10 minutes and cleans up.
( trap 'kill $s 2>/dev/null; exit 0' TERM; sleep "${SLURM_TEST_LIMIT_S:-600}" & s=$!; wait $s && echo "slurm test: over ${SLURM_TEST_LIMIT_S:-600} s" >&2 && kill -TERM $$ ) 2>/dev/null &
WATCHDOG=$!

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
while [ "$SLURMD_PORT" = "$CTLD_PORT" ]; do SLURMD_PORT=$(free_port); done

# --- data, checkpoints, the unsharded reference run -------------------------------------------------------------------
M1=$ROOT/.cache/hlip-ref/vit_base_multiscan_h2_token1176/model.safetensors
M2=$ROOT/.cache/hlip-ref/vit_base_multiscan_h2_dinotxt1176/model.safetensors
[ -f "$M1" ] && [ -f "$M2" ] || { echo "slurm test: HLIP fixtures missing (scripts/setup.sh)"; exit 1; }
[ -f "$ROOT/dist/cli.js" ] && [ -z "$(find "$ROOT/src" -newer "$ROOT/dist/cli.js" -name '*.ts' -print -quit)" ] || (cd "$ROOT" && npm run --silent build >/dev/null)
$PY "$ROOT/test/oracles/make_eval_data.py" $W/data mri 9 16 64 64 3 --bad
HLIP="$(command -v node) $ROOT/dist/cli.js"
$HLIP eval --model $M1 --model $M2 --data $W/data/hlip --labels $W/data/labels.csv --set mri --out $W/unsharded --cache $W/cache-ref --ep cpu --quiet >/dev/null

# --- single-node cluster -----------------------------------------------------------------------------------------------
H=$(hostname -s)
MEM=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 * 80 / 100 ))
HW=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=.*//')
cat > $SLURM_CONF <<CONF
ClusterName=hlip-test
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
StateSaveLocation=$B/state
SlurmdSpoolDir=$B/spool
SlurmctldPidFile=$B/run/slurmctld.pid
SlurmdPidFile=$B/run/slurmd.pid
SlurmctldLogFile=$B/log/slurmctld.log
SlurmdLogFile=$B/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
DependencyParameters=kill_invalid_depend
SchedulerParameters=batch_sched_delay=0
NodeName=$H NodeAddr=127.0.0.1 $HW RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || mungekey --create
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
  runuser -u munge -- munged --foreground > $B/log/munged.log 2>&1 &
  STARTED_MUNGE=$!
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null

slurmctld -D -c -f $SLURM_CONF > $B/log/slurmctld.stdout 2>&1 &
echo $! > $B/run/slurmctld.bgpid
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
slurmd -D -f $SLURM_CONF > $B/log/slurmd.stdout 2>&1 &
echo $! > $B/run/slurmd.bgpid
state=
for _ in $(seq 150); do state=$(sinfo -h -N -n $H -o %t 2>/dev/null || true); [ "$state" = idle ] && break; sleep 0.2; done
[ "$state" = idle ] || { echo "slurm test: node not idle ($state)"; tail -20 $B/log/*.log; exit 1; }

# --- the example, as a user runs it -------------------------------------------------------------------------------------
OUT=$W/out
t0=$(date +%s)
ids=$(cd $W && MODELS="$M1 $M2" DATA=$W/data/hlip LABELS=$W/data/labels.csv SET=mri OUT=$OUT SHARDS=3 EP=cpu GRES= \
  HLIP="$HLIP" HLIP_CACHE=$W/cache-slurm SBATCH_ARGS="--cpus-per-task=1 --time=10" "$ROOT/examples/slurm/submit.sh")
array=${ids% *}
merge=${ids#* }
echo "slurm test: array job $array, merge job $merge"
final=
for _ in $(seq 900); do
  final=$(scontrol show job "$merge" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
  case "$final" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
  sleep 0.2
done
echo "slurm test: merge job $final after $(( $(date +%s) - t0 )) s"
if [ "$final" != COMPLETED ]; then
  for f in $OUT/logs/*.out; do echo "== $f"; tail -20 "$f"; done
  exit 1
fi
for i in 0 1 2; do
  st=$(scontrol show job "${array}_$i" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
  [ -z "$st" ] || [ "$st" = COMPLETED ] || { echo "slurm test: shard $i $st"; exit 1; }
  [ -f $OUT/shard-$i/record.json ] || { echo "slurm test: shard $i wrote no record"; exit 1; }
done
for f in $(cd $W/unsharded && ls | grep -v '^run.json$'); do
  cmp $W/unsharded/$f $OUT/report/$f || { echo "slurm test: $f differs from the unsharded run"; exit 1; }
done
echo "slurm test: report of 3 Slurm shards + merge == unsharded run ($(ls $OUT/report | tr '\n' ' '))"

# --- Kubernetes: parses, and runs the very command lines the Slurm scripts ran --------------------------------------
$PY - "$ROOT/examples" <<'PYCHECK'
import sys, yaml
ex = sys.argv[1]
def cmd(text, word):
    lines = [l.strip() for l in text.splitlines() if l.strip().startswith("$HLIP " + word)]
    assert len(lines) == 1, (word, lines)
    return lines[0]
job = yaml.safe_load(open(f"{ex}/k8s/eval-indexed-job.yaml"))
merge = yaml.safe_load(open(f"{ex}/k8s/merge-job.yaml"))
assert job["kind"] == "Job" and job["spec"]["completionMode"] == "Indexed"
c = job["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e for e in c["env"]}
assert env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
assert int(env["SHARD_COUNT"]["value"]) == job["spec"]["completions"], "SHARD_COUNT must equal completions"
assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
assert cmd(c["args"][0], "eval") == cmd(open(f"{ex}/slurm/eval-shard.sbatch").read(), "eval")
m = merge["spec"]["template"]["spec"]["containers"][0]
assert cmd(m["args"][0], "merge") == cmd(open(f"{ex}/slurm/merge.sbatch").read(), "merge")
print("k8s manifests parse; their eval and merge command lines are the Slurm scripts'")
PYCHECK
