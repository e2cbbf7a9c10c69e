#!/usr/bin/env bash
# Training and test frames for examples/silicon.phys from Debian's LAMMPS
# (package lammps) with the Stillinger-Weber potential of lammps-data
# (/usr/share/lammps/potentials/Si.sw): 64 atoms of diamond silicon
# (periodic, a = 5.431 A, or $A) in NVT molecular dynamics at several
# temperatures, one frame every 50 fs after 1 ps of equilibration; energy,
# forces and stress of every frame in eV, eV/A and eV/A^3 (ASE's stress:
# minus LAMMPS's virial pressure tensor), as extended XYZ.
#   silicon_data.sh OUT.xyz SEED T1 [T2 ...]     (frames per temperature: $FRAMES, default 40)
set -euo pipefail
out=$1; seed=$2; shift 2
frames=${FRAMES:-40} a=${A:-5.431}
command -v lmp > /dev/null || { echo "silicon_data.sh: lmp not found (Debian: apt-get install lammps lammps-data)" >&2; exit 1; }
pot=/usr/share/lammps/potentials/Si.sw
[ -r "$pot" ] || { echo "silicon_data.sh: $pot not found (Debian: apt-get install lammps-data)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$out"
for T in "$@"; do
  cat > "$work/in.si" <<IN
units metal
atom_style atomic
boundary p p p
lattice diamond $a
region box block 0 2 0 2 0 2
create_box 1 box
create_atoms 1 box
mass 1 28.0855
pair_style sw
pair_coeff * * $pot Si
velocity all create $T $seed dist gaussian mom yes rot yes
timestep 0.001
fix 1 all nvt temp $T $T 0.1
compute pv all pressure NULL virial
thermo_style custom step pe c_pv[1] c_pv[2] c_pv[3] c_pv[4] c_pv[5] c_pv[6]
thermo_modify format float %.17g
thermo 50
run 1000
dump 1 all custom 50 $work/dump.si id x y z fx fy fz
dump_modify 1 sort id format float %.17g
run $((50 * (frames - 1)))
IN
  (cd "$work" && lmp -in in.si -log log.si -screen none)
  # the energies and stresses (bar -> eV/A^3, xx yy zz xy xz yz -> 3 x 3) of the dumped steps (the
  # second run's thermo lines), then the frames
  awk -v c=6.241509074460763e-07 '$1 == "Step" { block++; next } block == 2 && $1 ~ /^[0-9]+$/ {
      xx = -c * $3; yy = -c * $4; zz = -c * $5; xy = -c * $6; xz = -c * $7; yz = -c * $8
      printf "%s stress=\"%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\"\n", $2, xx, xy, xz, xy, yy, yz, xz, yz, zz }' \
    "$work/log.si" > "$work/pe"
  awk -v pefile="$work/pe" 'BEGIN { while ((getline e < pefile) > 0) pe[k++] = e }
    /^ITEM: TIMESTEP/ { f++; getline; next }
    /^ITEM: NUMBER OF ATOMS/ { getline; n = $1; next }
    /^ITEM: BOX BOUNDS/ { getline; lx = $2 - $1; getline; ly = $2 - $1; getline; lz = $2 - $1; next }
    /^ITEM: ATOMS/ { printf "%d\nLattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" Properties=species:S:1:pos:R:3:forces:R:3 energy=%s pbc=\"T T T\"\n", n, lx, ly, lz, pe[f - 1]; next }
    { print "Si", $2, $3, $4, $5, $6, $7 }' "$work/dump.si" >> "$out"
done
echo "silicon_data.sh: $(grep -c Lattice "$out") frames of 64 atoms in $out"
