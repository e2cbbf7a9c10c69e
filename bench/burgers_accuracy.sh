#!/usr/bin/env bash
# Burgers accuracy against the exact (Cole-Hopf) solution, outside the test
# suite: compiles examples/burgers.phys, trains its schedule (Adam 1000,
# SSBroyden 10000), then continues with EXTRA more SSBroyden iterations
# (the schedule extended in a copy of the model: same fields, so the
# checkpoint carries over), and prints the relative L2 error on a 256 x 100
# grid after each phase.
# Usage: bench/burgers_accuracy.sh [BUILD_DIR] [EXTRA_STEPS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
extra=${2:-20000}
work=$(mktemp -d)
cd "$work"
cp "$root/examples/burgers.phys" .
"$build/compiler/physc" burgers.phys -o burgers
time ./burgers train --threads 2 --quiet
echo "after the example's schedule:"
./burgers eval x=-1:1:256 t=0:1:100 | "$build/bench/burgers_exact"
sed "s/ssbroyden(steps = 10000)/ssbroyden(steps = $((10000 + extra)))/" burgers.phys > burgers_more.phys
grep -q "steps = $((10000 + extra))" burgers_more.phys || { echo "could not extend the schedule"; exit 1; }
"$build/compiler/physc" burgers_more.phys -o burgers_more
# same 'model burgers' and structure, so it resumes from burgers.ckpt (its
# own default checkpoint would be burgers_more.ckpt)
time ./burgers_more train --resume --checkpoint burgers.ckpt --threads 2 --quiet
echo "after $extra more SSBroyden iterations:"
./burgers_more eval x=-1:1:256 t=0:1:100 --checkpoint burgers.ckpt | "$build/bench/burgers_exact"
echo "(work directory: $work)"
