#!/usr/bin/env bash
# The first README command: install what is missing, build, then compile the
# main example (the damped-oscillator inverse problem), train it and print
# the constants it recovered (truth: c = 0.4, k = 4.0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
physc="$root/build/compiler/physc"
out="$root/build/examples"
mkdir -p "$out"
echo "physc examples/oscillator.phys -o build/examples/oscillator"
"$physc" "$root/examples/oscillator.phys" -o "$out/oscillator"
cd "$out"
echo "./oscillator train   (Adam 20000 steps, then L-BFGS 500; about half a minute on 2 cores)"
./oscillator train
echo "./oscillator params"
./oscillator params
