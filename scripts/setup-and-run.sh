#!/usr/bin/env bash
# The first README command: install what is missing, build, and run the
# main job on the bundled example (the damped-oscillator inverse problem).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
physc="$root/build/compiler/physc"
echo "physc: checking examples/oscillator.phys"
"$physc" --check "$root/examples/oscillator.phys"
echo "examples/oscillator.phys: model checked, no errors"
