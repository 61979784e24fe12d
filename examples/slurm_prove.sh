#!/usr/bin/env bash
# Prove a run trained with `zkpot train --prove-later` as a Slurm job array:
# task i proves the groups starting in its share of the steps. Every task
# writes its own proof files atomically, so tasks never conflict, and a
# failed task is rerun by resubmitting: proofs already made are kept.
#
#   sbatch --array=0-7 examples/slurm_prove.sh /shared/run 400
#   zkpot verify /shared/run          # once the array is done
#
#SBATCH --job-name=zkpot-prove
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
set -euo pipefail
run=${1:?usage: slurm_prove.sh RUN_DIR STEPS}
steps=${2:?usage: slurm_prove.sh RUN_DIR STEPS}
tasks=${SLURM_ARRAY_TASK_COUNT:-1}
i=${SLURM_ARRAY_TASK_ID:-0}
per=$(( (steps + tasks - 1) / tasks ))
start=$(( i * per ))
end=$(( start + per < steps ? start + per : steps ))
if (( start >= end )); then
    echo "task $i: nothing to prove"
    exit 0
fi
exec zkpot train prove --run "$run" --range "$start..$end"
