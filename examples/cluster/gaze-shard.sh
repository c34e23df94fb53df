#!/usr/bin/env bash
# One shard of a collection: `gaze cam` over part INDEX of COUNT of the photos in $GAZE_INPUT,
# results appended to $GAZE_OUT/results-INDEX.jsonl (resumed if the task is run again), panels
# under $GAZE_OUT/panels mirroring the photos' folders. The same script serves both engines:
#   Slurm job arrays:           INDEX = $SLURM_ARRAY_TASK_ID,  COUNT = $SLURM_ARRAY_TASK_COUNT
#   Kubernetes Indexed Jobs:    INDEX = $JOB_COMPLETION_INDEX, COUNT = $GAZE_SHARDS
# ($GAZE_SHARDS, when set, wins over Slurm's count.) Extra arguments go to `gaze cam`, e.g.
#   gaze-shard.sh --model my_classifier.keras --top 2
# Exit status: gaze's (0: every input succeeded; 1: some failed, see the error lines in the
# JSONL; 130/143: stopped by a signal, run the task again to resume).
set -euo pipefail

index=${SLURM_ARRAY_TASK_ID:-${JOB_COMPLETION_INDEX:-}}
count=${GAZE_SHARDS:-${SLURM_ARRAY_TASK_COUNT:-}}
if [ -z "$index" ] || [ -z "$count" ]; then
  echo "gaze-shard.sh: error: no shard index and count (set by a Slurm array or a Kubernetes" \
    "Indexed Job; GAZE_SHARDS gives the count)" >&2
  exit 2
fi
: "${GAZE_INPUT:?the folder (or @LIST) of photos}"
: "${GAZE_OUT:?the folder for results and panels}"

mkdir -p "$GAZE_OUT"
exec "${GAZE:-gaze}" cam --shard "$index/$count" --jsonl "$GAZE_OUT/results-$index.jsonl" \
  --resume --out-dir "$GAZE_OUT/panels" "$@" "$GAZE_INPUT"
