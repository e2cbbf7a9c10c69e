#!/usr/bin/env bash
# Data-parallel training over MPI (issue 15): bench/burgers.phys (Raissi's
# Burgers, 8 x 20 tanh, 10,000 + 100 points), STEPS Adam steps in float64,
# one thread per process: a plain run, 'mpirun -np 1' and 'mpirun -np 2'
# (each rank takes half of every term's points and the gradients are
# reduced in a fixed order). Prints steps/s of each, the speed-up of two
# processes over one, and the final losses (equal to round-off).
# usage: bench/mpi_speed.sh [PHYSC]   Environment: STEPS (default 300).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
physc=$(realpath "${1:-$root/build/compiler/physc}")
steps=${STEPS:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$root"/bench/burgers.phys .
"$physc" burgers.phys -o burgers
train=(train --stages "$steps" --precision f64 --threads 1 --seed 1 --overwrite)
rate() { awk '/^trained/ { for (i = 1; i <= NF; i++) if ($i ~ /^\([0-9]/) { v = $i; gsub(/[(]/, "", v); print v } }' "$1"; }
loss() { sed -n 's/^trained.*, loss \([^ ]*\).*/\1/p' "$1"; }
./burgers "${train[@]}" --checkpoint plain.ckpt > plain.txt 2>&1
mpirun --allow-run-as-root -np 1 ./burgers "${train[@]}" --checkpoint one.ckpt > one.txt 2>&1
mpirun --allow-run-as-root -np 2 ./burgers "${train[@]}" --checkpoint two.ckpt > two.txt 2>&1
for k in plain one two; do printf '%-6s %s steps/s, loss %s\n' "$k" "$(rate $k.txt)" "$(loss $k.txt)"; done
awk -v a="$(rate one.txt)" -v b="$(rate two.txt)" 'BEGIN { printf "speed-up of 2 processes over 1: %.2f\n", b / a }'
