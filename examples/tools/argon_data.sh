#!/usr/bin/env bash
# Training and test frames for examples/argon.phys: molecular dynamics of
# 108 atoms of fcc argon (a = 5.26 A, or $A, periodic) under the Lennard-Jones
# reference examples/argon_lj.phys, 4 ps of 1 fs steps from a lattice at
# temperature kT (eV), a frame every 200 fs, each frame's energy, forces
# and stress written by the reference's test --write.
#   [A=5.3] argon_data.sh PHYSC OUT.xyz SEED KT [SEED KT ...]
set -euo pipefail
a=${A:-5.26}
physc=$1 out=$2; shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$physc" --stdlib "$here/../stdlib" "$here/argon_lj.phys" -o "$work/argon_lj"
: > "$out"
while [ $# -ge 2 ]; do
  "$here/tools/lattice.sh" fcc 3 "$a" 0.05 "$2" "$1" Ar:39.948:0 > "$work/start.xyz"
  "$work/argon_lj" simulate --from "$work/start.xyz" --dt 0.1 --steps 4000 --every 200 --to "$work/md.xyz" --quiet
  "$work/argon_lj" test "$work/md.xyz" --write "$work/frames.xyz" > /dev/null
  cat "$work/frames.xyz" >> "$out"
  shift 2
done
echo "argon_data.sh: $(grep -c Lattice "$out") frames of 108 atoms in $out"
