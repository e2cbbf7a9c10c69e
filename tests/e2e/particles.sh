#!/usr/bin/env bash
# Particle systems as loops over index sets (lower_sets.c, system_eval.c):
#  1. the LLVM IR of a 3-D N-body model with a learned pair force does not
#     grow with N (N = 1024 and 100,000 differ only in the count);
#  2. a Lennard-Jones fluid of 4000 atoms (periodic, cutoff 2.5) gives the
#     energy and forces of Debian's LAMMPS (pair_style lj/cut) on the same
#     configuration to 1e-10 relative; NVE energy stays bounded;
#  3. forces equal minus central differences of the energy for a potential
#     with a learned pair term, a nonlinear function of a sum, a one-body
#     term and a second (fixed) particle set;
#  4. a learned pair force under a cutoff conserves total momentum to 1e-12.
# usage: particles.sh PHYSC ROOT
set -u
physc=$(realpath "$1") root=$(realpath "$2")
models=$root/tests/e2e/models
. "$(dirname "$0")/harness.sh"

# 1. IR size independent of N (the same file name in three folders)
for n in 10 1024 100000; do
  mkdir -p n$n
  sed "s/^const N = .*/const N = $n/" > n$n/nbody.phys <<'EOF'
model nbody3
const N = 8
particles bodies[N] with r[3], v[3]
field f(s) = mlp(hidden = [16, 16], activation = tanh)
force F(i, j) = f(dist(i, j)) * unit(i, j)
dynamics newton(F, mass = 1)
conserve momentum
simulate leapfrog(dt = 0.001, steps = 10) from "start.xyz"
EOF
  (cd n$n && "$physc" --emit=llvm nbody.phys -o nbody.ll && "$physc" nbody.phys -o nbody) || bad "compile N = $n"
done
# the count (as an integer and as the value of the constant N) and the
# folder's name aside, the two are the same
normal() { sed -e "s|\[[0-9]* x i8\] c\"$work/n[0-9]*|DIR|g" -e "s/\b$2\b/N/g" -e "s/$3/N/g" "$1"; }
changed=$(diff <(normal n1024/nbody.ll 1024 1.024000e+03) <(normal n100000/nbody.ll 100000 1.000000e+05) | grep '^[<>]')
if [ -z "$changed" ] && [ "$(wc -l < n1024/nbody.ll)" -eq "$(wc -l < n100000/nbody.ll)" ]; then
  ok "IR: N = 1024 and 100000 differ only in the count ($(wc -c < n1024/nbody.ll) bytes each; N = 10 also holds the state-row functions: $(wc -c < n10/nbody.ll) bytes)"
else
  bad "the IR of N = 1024 and N = 100000 differs beyond the count: $changed"
fi

# lammps_pe, dump_to_xyz, errors_against
. "$root/tests/e2e/lammps_helpers.sh"

# 2. Lennard-Jones against LAMMPS
if ! command -v lmp > /dev/null; then
  bad "lmp (Debian's lammps package) is not installed: scripts/install-deps.sh installs it"
else
  cat > in.lj <<'EOF'
units lj
atom_style atomic
lattice fcc 0.8442
region box block 0 10 0 10 0 10
create_box 1 box
create_atoms 1 box
mass 1 1.0
displace_atoms all random 0.05 0.05 0.05 4928459 units box
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
thermo_style custom step pe
thermo_modify norm no format float %.17g
dump 1 all custom 1 lmp.dump id x y z fx fy fz
dump_modify 1 format float %.17g sort id
run 0
EOF
  lmp -in in.lj -log none > lmp.out 2>&1 || bad "lmp run"
  lmp_pe=$(lammps_pe lmp.out)
  dump_to_xyz Ar lmp.dump > start.xyz   # the dumped configuration (atoms in id order)
  cp "$models/lj_fluid.phys" .
  "$physc" lj_fluid.phys -o lj_fluid || bad "compile lj_fluid"
  ./lj_fluid simulate --steps 1 --dt 1e-9 --to one.xyz --quiet || bad "lj_fluid one step"
  phys_pe=$(sed -n '2s/.*potential=\([^ ]*\).*/\1/p' one.xyz)
  read -r de df <<< "$(errors_against one.xyz lmp.dump "$lmp_pe")"
  echo "LJ 4000 atoms: physc E = $phys_pe, LAMMPS E = $lmp_pe; relative energy error $de, max force error / max force $df"
  awk -v e="$de" -v f="$df" 'BEGIN { exit !(e != "" && e + 0 <= 1e-10 && f + 0 <= 1e-10) }' &&
    ok "LJ: energy and forces equal LAMMPS lj/cut to 1e-10" || bad "LJ against LAMMPS: $de, $df"
  # NVE from the lattice at rest plus the displacement: bounded energy
  ./lj_fluid simulate --steps 1000 --every 100 --quiet || bad "lj_fluid NVE"
  drift=$(awk -F, 'NR == 2 { e0 = $5 } NR > 1 { d = ($5 - e0) / e0; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g", m }' lj.csv)
  awk -v d="$drift" 'BEGIN { exit !(d != "" && d + 0 <= 1e-4) }' &&
    ok "LJ NVE: 1000 steps of dt 0.002, energy within $drift relative" || bad "LJ NVE energy drift $drift"
fi

# 2b. Stillinger-Weber silicon (pairs and triplets) against LAMMPS pair_style sw
if command -v lmp > /dev/null; then
  cat > in.sw <<'EOF'
units metal
atom_style atomic
lattice diamond 5.431
region box block 0 3 0 3 0 3
create_box 1 box
create_atoms 1 box
mass 1 28.0855
displace_atoms all random 0.1 0.1 0.1 87287 units box
pair_style sw
pair_coeff * * /usr/share/lammps/potentials/Si.sw Si
thermo_style custom step pe pxx pyy pzz pxy pxz pyz
thermo_modify norm no format float %.17g
dump 1 all custom 1 sw.dump id x y z fx fy fz
dump_modify 1 format float %.17g sort id
run 0
EOF
  lmp -in in.sw -log none > sw.out 2>&1 || bad "lmp sw run"
  sw_pe=$(lammps_pe sw.out)
  dump_to_xyz Si sw.dump > si.xyz
  cp "$models/stillinger_weber.phys" .
  "$physc" stillinger_weber.phys -o sw || bad "compile stillinger_weber"
  ./sw simulate --from si.xyz --steps 1 --dt 1e-12 --to si_one.xyz --quiet || bad "sw one step"
  phys_sw=$(sed -n '2s/.*potential=\([^ ]*\).*/\1/p' si_one.xyz)
  read -r de df <<< "$(errors_against si_one.xyz sw.dump "$sw_pe")"
  echo "SW silicon, 216 atoms: physc E = $phys_sw eV, LAMMPS E = $sw_pe eV; relative energy error $de, max force error / max force $df"
  awk -v e="$de" -v f="$df" 'BEGIN { exit !(e != "" && e + 0 <= 1e-10 && f + 0 <= 1e-10) }' &&
    ok "Stillinger-Weber (sum_triplets): energy and forces equal LAMMPS pair_style sw to 1e-10" || bad "SW against LAMMPS: $de, $df"
  # the stress (ASE: -virial / volume, eV/A^3) against LAMMPS's pressure tensor at 0 K
  # (bar; LAMMPS's metal-units factor 1.6021765e6 bar per eV/A^3)
  ./sw test si.xyz --write si_stress.xyz > /dev/null 2>&1 || bad "sw test --write"
  mine=$(sed -n '2s/.*stress="\([^"]*\)".*/\1/p' si_stress.xyz | awk '{ print $1, $5, $9, $2, $3, $6 }')
  theirs=$(awk '$1 == "Step" { getline; print $3, $4, $5, $6, $7, $8; exit }' sw.out)
  ds=$(echo "$mine $theirs" | awk '{ for (k = 1; k <= 6; k++) { l = -$(k + 6) / 1.6021765e6; d = $k - l; if (d < 0) d = -d
         if (d > e) e = d; if (l < 0) l = -l; if (l > m) m = l } if (m > 0) printf "%.3g", e / m }')
  awk -v d="$ds" 'BEGIN { exit !(d != "" && d + 0 <= 1e-10) }' &&
    ok "Stillinger-Weber stress (virial through the kernels) equals LAMMPS's pressure tensor: largest error / largest component $ds" ||
    bad "SW stress against LAMMPS: '$ds' (physc $mine; LAMMPS bar $theirs)"
fi

# 3. forces = -dE/dr against central differences (a cluster with walls)
cp "$models/mixed_potential.phys" .
"$physc" mixed_potential.phys -o mixed || bad "compile mixed_potential"
cat > base.xyz <<'EOF'
9
Properties=species:S:1:pos:R:3:masses:R:1:set:S:1
X 0.0 0.1 -0.2 1.0 atoms
X 1.1 0.0 0.3 2.0 atoms
X 0.2 1.2 0.1 1.5 atoms
X -0.9 0.4 0.8 1.0 atoms
X 0.5 -1.0 -0.6 1.2 atoms
X 1.4 1.3 -0.9 0.8 atoms
X 2.5 0.0 0.0 1.0 walls
X -2.2 0.5 0.5 1.0 walls
X 0.3 0.2 2.4 1.0 walls
EOF
energy_at() { ./mixed simulate --untrained --from "$1" --steps 1 --dt 1e-12 --to e.xyz --quiet && sed -n '2s/.*potential=\([^ ]*\).*/\1/p' e.xyz; }
energy_at base.xyz > /dev/null || bad "mixed simulate"
awk 'NR > 2 && NR <= 8 { print $8, $9, $10 }' e.xyz > f.analytic
h=1e-5 worst=0
for atom in 0 1 3 5; do
  for axis in 0 1 2; do
    awk -v a=$atom -v x=$axis -v h=$h 'NR == 3 + a { $(2 + x) += h } { print }' base.xyz > plus.xyz
    awk -v a=$atom -v x=$axis -v h=$h 'NR == 3 + a { $(2 + x) -= h } { print }' base.xyz > minus.xyz
    ep=$(energy_at plus.xyz) em=$(energy_at minus.xyz)
    f=$(awk -v a=$atom -v x=$axis 'NR == a + 1 { print $(x + 1) }' f.analytic)
    if [ -z "$ep" ] || [ -z "$em" ] || [ -z "$f" ]; then worst=unreadable; break 2; fi
    worst=$(awk -v p="$ep" -v m="$em" -v f="$f" -v h=$h -v w="$worst" 'BEGIN {
      fd = -(p - m) / (2 * h); d = (f - fd) / (f < 0 ? -f : f) ; if (d < 0) d = -d; if (f == 0) d = fd < 0 ? -fd : fd
      printf "%.3g", (d > w ? d : w) }')
  done
done
awk -v w="$worst" 'BEGIN { exit !(w ~ /^[0-9.e+-]+$/ && w + 0 <= 1e-6) }' &&
  ok "forces = -grad V against central differences: max relative error $worst (12 components)" ||
  bad "forces against central differences: $worst"

# 4. momentum of a learned pair force under a cutoff (1000 bodies, periodic)
awk 'BEGIN { n = 1000; L = 10; srand(7); print n
  printf "Lattice=\"%d 0 0 0 %d 0 0 0 %d\" pbc=\"T T T\" Properties=species:S:1:pos:R:3:velo:R:3\n", L, L, L
  for (i = 0; i < n; i++) printf "X %.12f %.12f %.12f %.6f %.6f %.6f\n", L * rand(), L * rand(), L * rand(), rand() - 0.5, rand() - 0.5, rand() - 0.5 }' > start.xyz
cp "$models/pair_cutoff.phys" .
"$physc" pair_cutoff.phys -o pair_cutoff || bad "compile pair_cutoff"
./pair_cutoff simulate --untrained > pair.txt || bad "pair_cutoff simulate"
mom=$(sed -n 's/^momentum: max relative drift \([^ ]*\) .*/\1/p' pair.txt)
awk -v m="$mom" 'BEGIN { exit !(m != "" && m + 0 <= 1e-12) }' &&
  ok "pair force with a cutoff, 1000 bodies, 1000 steps: momentum drift $mom <= 1e-12" || bad "momentum drift '$mom'"

[ $fail -eq 0 ] && echo "all particle checks passed" || echo "$fail particle check(s) failed"
exit $((fail > 0))
