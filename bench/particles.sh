#!/usr/bin/env bash
# Particle systems as loops (issue: loops in the IR), in one run:
#  - compile time and IR size of a 3-D N-body model with a learned pair
#    force (2 x 16 tanh) for N = 10, 1000, 100000;
#  - simulate cost against N with a cutoff (the same model under 'within
#    2.0', density 1): time per step at N = 10,000 and 100,000;
#  - total momentum over 10^4 steps at N = 10,000;
#  - a Lennard-Jones fluid of 4000 atoms (cutoff 2.5, NVE, dt 0.002): energy
#    drift over 10^4 steps and atom-steps/s beside LAMMPS lj/cut (lmp), on
#    1 thread each, same skin (0.3) and neighbour check every step.
# usage: bench/particles.sh [PHYSC]   (default build/compiler/physc)
# Environment: STEPS (default 10000), THREADS (default 2, physc's N-body runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
physc=$(realpath "${1:-$root/build/compiler/physc}")
steps=${STEPS:-10000}
threads=${THREADS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

model() { # N, cutoff clause
  cat <<EOF
model nbody
const N = $1
particles bodies[N] with r[3], v[3]
field f(s) = mlp(hidden = [16, 16], activation = tanh)
force F(i, j) $2= f(dist(i, j)) * unit(i, j)
dynamics newton(F, mass = 1)
conserve momentum
simulate leapfrog(dt = 0.001, steps = 10) from "start.xyz" to "out.xyz" every 1000000
EOF
}
echo
echo "| N | compile (s) | IR bytes |"
echo "| --- | --- | --- |"
for n in 10 1000 100000; do
  mkdir -p c$n
  model $n "" > c$n/nbody.phys
  t0=$(date +%s.%N)
  (cd c$n && "$physc" nbody.phys -o nbody)
  t1=$(date +%s.%N)
  (cd c$n && "$physc" --emit=llvm nbody.phys -o nbody.ll)
  echo "| $n | $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') | $(wc -c < c$n/nbody.ll) |"
done

start() { # N, box edge
  awk -v n="$1" -v L="$2" 'BEGIN { srand(11); print n
    printf "Lattice=\"%s 0 0 0 %s 0 0 0 %s\" pbc=\"T T T\" Properties=species:S:1:pos:R:3:velo:R:3\n", L, L, L
    for (i = 0; i < n; i++) printf "X %.12f %.12f %.12f %.6f %.6f %.6f\n", L * rand(), L * rand(), L * rand(), rand() - 0.5, rand() - 0.5, rand() - 0.5 }'
}
mkdir -p cut && cd cut
model 0 "within 2.0 " | sed 's/^const N = 0//; s/bodies\[N\]/bodies/' > nbody.phys
"$physc" nbody.phys -o nbody
echo
# The cost of a step: runs of s and 2s steps, (t_2s - t_s) / s, so that
# reading the start, the first neighbour list and writing the frames (fixed
# costs, larger for larger N) are left out.
echo "| N (cutoff 2.0, density 1) | steps | s/step | particle-steps/s |"
echo "| --- | --- | --- | --- |"
declare -A per_step
seconds() { ./nbody simulate --untrained --from "$1" --steps "$2" --threads "$threads" --to o.xyz 2>/dev/null | head -1 |
            sed 's/.* steps, [0-9]* particles, [0-9]* neighbour list builds, \([0-9.]*\) s .*/\1/'; }
for n in 10000 100000; do
  start $n "$(awk -v n=$n 'BEGIN { printf "%.10g", n ^ (1 / 3) }')" > start$n.xyz
  s=$((n == 10000 ? 100 : 10))
  t1=$(seconds start$n.xyz $s) t2=$(seconds start$n.xyz $((2 * s)))
  per_step[$n]=$(awk -v a="$t1" -v b="$t2" -v s=$s 'BEGIN { printf "%.5g", (b - a) / s }')
  echo "| $n | $s more | ${per_step[$n]} | $(awk -v t="${per_step[$n]}" -v n=$n 'BEGIN { printf "%.3g", n / t }') |"
done
echo "cost ratio 100,000 / 10,000 particles per step: $(awk -v a="${per_step[100000]}" -v b="${per_step[10000]}" 'BEGIN { printf "%.2f", a / b }') (linear: 10)"
./nbody simulate --untrained --from start10000.xyz --steps "$steps" --every "$steps" --threads "$threads" --to mom.xyz 2>/dev/null |
  grep -E '^(simulate|momentum)'
cd ..

echo
mkdir -p lj && cd lj
cat > in.lj <<'EOF'
units lj
atom_style atomic
lattice fcc 0.8442
region box block 0 10 0 10 0 10
create_box 1 box
create_atoms 1 box
mass 1 1.0
velocity all create 1.44 87287 loop geom
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
write_dump all custom start.dump id x y z vx vy vz modify format float %.17g sort id
timestep 0.002
fix 1 all nve
thermo_style custom step pe ke etotal
thermo_modify norm no format float %.17g
EOF
{ cat in.lj; echo "run 0"; } > in.dump
lmp -in in.dump -log none > /dev/null
awk 'NR == 4 { n = $1 } NR == 6 { L = $2 } NR == 9 { print n; printf "Lattice=\"%s 0 0 0 %s 0 0 0 %s\" pbc=\"T T T\" Properties=species:S:1:pos:R:3:velo:R:3\n", L, L, L }
     NR > 9 { print "Ar", $2, $3, $4, $5, $6, $7 }' start.dump > start.xyz
cp "$root/tests/e2e/models/lj_fluid.phys" .
"$physc" lj_fluid.phys -o lj_fluid
phys=$(./lj_fluid simulate --steps "$steps" --every 1000 --threads 1 --skin 0.3 2>/dev/null)
echo "$phys" | grep -E '^(simulate|energy|momentum)'
{ cat in.lj; echo "thermo $steps"; echo "run $steps"; } > in.run
lout=$(lmp -in in.run -log none)
echo "$lout" | grep -E '^Loop time|^ *[0-9]+ +-' | tail -3
lsec=$(echo "$lout" | sed -n 's/^Loop time of \([0-9.]*\) .*/\1/p')
psec=$(echo "$phys" | sed -n '1s/.* builds, \([0-9.]*\) s .*/\1/p')
echo "LJ 4000 atoms, $steps steps, 1 thread each: physc $psec s ($(awk -v t="$psec" -v s="$steps" 'BEGIN { printf "%.3g", 4000 * s / t }') atom-steps/s), LAMMPS $lsec s ($(awk -v t="$lsec" -v s="$steps" 'BEGIN { printf "%.3g", 4000 * s / t }') atom-steps/s), ratio $(awk -v a="$lsec" -v b="$psec" 'BEGIN { printf "%.2f", a / b }')"
