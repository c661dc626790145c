#!/usr/bin/env bash
# Zero-shot evaluation of checkpoints on a Slurm cluster: an array job with one shard per task (a GPU each), then a
# merge job that starts when every shard has succeeded (a failed shard cancels it).
#
#   MODELS="run1/checkpoints/epoch_10.pt run2/checkpoints/epoch_10.pt" DATA=/data/mri LABELS=/data/mri.csv SET=mri \
#   OUT=/scratch/eval SHARDS=8 examples/slurm/submit.sh
#
# Optional: LAYOUT (hlip | raw, default hlip), EP (default cuda,cpu), HLIP (the CLI, default `hlip`), HLIP_CACHE (a
# cache folder every node sees: shards share converted towers and embeddings), GRES (default gpu:1; empty for none),
# SBATCH_ARGS (more sbatch options: partition, account, time...). Prints the two job ids.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${MODELS:?} ${DATA:?} ${LABELS:?} ${SET:?} ${OUT:?} ${SHARDS:?}"
export MODELS DATA LABELS SET OUT LAYOUT="${LAYOUT:-hlip}" EP="${EP:-cuda,cpu}" HLIP="${HLIP:-hlip}"
gres=${GRES-gpu:1}
mkdir -p "$OUT/logs"
# shellcheck disable=SC2086
array=$(sbatch --parsable --export=ALL --array=0-$((SHARDS - 1)) ${gres:+--gres=$gres} --output="$OUT/logs/shard-%a.out" ${SBATCH_ARGS:-} "$here/eval-shard.sbatch")
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL --dependency=afterok:"${array%%;*}" --output="$OUT/logs/merge.out" ${SBATCH_ARGS:-} "$here/merge.sbatch")
echo "$array $merge"
