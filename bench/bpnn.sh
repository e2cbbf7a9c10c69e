#!/usr/bin/env bash
# Learned interatomic potentials (issue 13), in one run:
#  - training: torch_bpnn.py's exact problem (64 frames of 64 displaced
#    diamond-silicon atoms with Morse energies and forces, 8 radial and 8
#    angular symmetry functions at 5 A, 16-25-25-1 tanh, loss per-atom
#    energy^2 + force^2, Adam lr 1e-3 on mini-batches of 8) as
#    bench/bpnn/bpnn.phys: structures/s and peak memory of physc (float64)
#    beside the PyTorch baseline (float32, its default; /usr/bin/python3,
#    python3-torch) on the same machine;
#  - MD: atom-steps/s of the learned silicon potential (examples/silicon.phys,
#    trained briefly) beside LAMMPS pair_style sw on the same 512 atoms, one
#    thread each.
# usage: bench/bpnn.sh [PHYSC]   Environment: STEPS (physc training steps,
# default 3000; its time includes the first epoch, which keeps each frame's
# descriptor derivatives, about half a second, while PyTorch builds its pair
# lists before its clock starts), TORCH_STEPS (default 20), MD_STEPS
# (default 500); NO_TORCH=1 skips PyTorch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
physc=$(realpath "${1:-$root/build/compiler/physc}")
steps=${STEPS:-3000} torch_steps=${TORCH_STEPS:-20} md_steps=${MD_STEPS:-500}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
peak_kb() { awk '/Maximum resident set size/ { print $6 }' "$1"; }

# training, physc
cp "$root"/bench/bpnn/*.phys .
"$root"/bench/bpnn/frames.py 64 2 0 > positions.xyz
"$physc" morse_reference.phys -o morse_reference
./morse_reference test positions.xyz --write bpnn_frames.xyz > /dev/null
sed -i "s/steps = 50, batch = 8/steps = $steps, batch = 8/" bpnn.phys
"$physc" bpnn.phys -o bpnn
/usr/bin/time -v ./bpnn train --threads 2 > train.txt 2> time.txt
secs=$(awk '/^trained/ { for (i = 1; i <= NF; i++) if ($i == "in") print $(i + 1) }' train.txt time.txt)
physc_mb=$(awk -v k="$(peak_kb time.txt)" 'BEGIN { printf "%.0f", k / 1024 }')
# the steady rate: the same training with one epoch (8 steps) only, whose
# time (reading the frames, the scaling, keeping each frame's descriptor
# derivatives) is taken off, as PyTorch's clock starts after its pair lists
sed "s/steps = $steps, batch = 8/steps = 8, batch = 8/" bpnn.phys > bpnn_epoch.phys
"$physc" bpnn_epoch.phys -o bpnn_epoch
./bpnn_epoch train --threads 2 > epoch.txt 2>&1
secs1=$(awk '/^trained/ { for (i = 1; i <= NF; i++) if ($i == "in") print $(i + 1) }' epoch.txt)
physc_all=$(awk -v s="$secs" -v n="$steps" 'BEGIN { printf "%.1f", 8 * n / s }')
physc_sps=$(awk -v s="$secs" -v s1="$secs1" -v n="$steps" 'BEGIN { printf "%.1f", 8 * (n - 8) / (s - s1) }')
echo "physc   training: $steps steps of 8 structures in $secs s ($physc_all structures/s), of which the first epoch $secs1 s;" \
     "after it $physc_sps structures/s; peak memory $physc_mb MB"
if [ -z "${NO_TORCH:-}" ] && /usr/bin/python3 -c "import torch" 2> /dev/null; then
  ( unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    /usr/bin/time -v /usr/bin/python3 "$root"/../shared/bench/torch_bpnn.py --steps "$torch_steps" --threads 2 > torch.txt 2> torch_time.txt ) || true
  torch_sps=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^structures_per_s=/) { sub(/.*=/, "", $i); print $i } }' torch.txt)
  torch_mb=$(awk -v k="$(peak_kb torch_time.txt)" 'BEGIN { printf "%.0f", k / 1024 }')
  echo "PyTorch training: $(cat torch.txt); peak memory $torch_mb MB"
  awk -v a="$physc_sps" -v b="$torch_sps" -v ma="$physc_mb" -v mb="$torch_mb" \
    'BEGIN { printf "ratio: physc / PyTorch structures/s %.1f, peak memory %.3f\n", a / b, ma / mb }'
fi

# MD: the learned silicon potential beside LAMMPS sw, 512 atoms, one thread
cp "$root"/examples/silicon.phys "$root"/examples/silicon_*.xyz .
"$physc" silicon.phys -o silicon
./silicon train --stages 200,0 --threads 2 --quiet > /dev/null
./silicon simulate --steps "$md_steps" --every "$md_steps" --threads 1 --to md.xyz > md.txt 2> /dev/null
physc_md=$(awk '/particle-steps\/s/ { for (i = 1; i <= NF; i++) if ($i ~ /particle-steps/) { v = $(i - 1); gsub(/[(]/, "", v); print v } }' md.txt)
echo "physc   MD: $(head -n 1 md.txt)"
if command -v lmp > /dev/null; then
  cat > in.sw <<IN
units metal
atom_style atomic
lattice diamond 5.431
region box block 0 4 0 4 0 4
create_box 1 box
create_atoms 1 box
mass 1 28.0855
pair_style sw
pair_coeff * * /usr/share/lammps/potentials/Si.sw Si
velocity all create 600 3 dist gaussian
timestep 0.001
fix 1 all nve
run $md_steps
IN
  lmp -in in.sw -log lmp.log -screen none
  lmp_md=$(awk '/^Loop time of/ { printf "%.4g", $9 * $12 / $4 }' lmp.log)
  echo "LAMMPS  MD (pair_style sw, 512 atoms, 1 process): $lmp_md atom-steps/s"
  awk -v a="$physc_md" -v b="$lmp_md" 'BEGIN { printf "ratio: physc learned Si / LAMMPS sw atom-steps/s %.3f\n", a / b }'
fi
