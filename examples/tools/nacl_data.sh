#!/usr/bin/env bash
# Training and test frames for examples/nacl_hybrid.phys from Debian's
# LAMMPS (package lammps): rock-salt NaCl, N x N x N conventional cells
# (8 N^3 ions, a = 5.64 A, periodic), charges +1 (Na) and -1 (Cl), with
# the Tosi-Fumi Born-Mayer-Huggins short range (cut at 6 A, shifted to 0
# there) plus damped shifted force Coulomb (alpha 0.1 / A, cut at 11 A;
# `pair_style born/coul/dsf 0.1 6.0 11.0`, self term included), in NVT
# molecular dynamics: per temperature 2 ps of equilibration, then a frame
# every 100 fs; energy (eV), forces (eV/A) and charges of every frame as
# extended XYZ. A temperature T/TM first melts the crystal at TM (5 ps)
# and then samples at T (molten salt). A temperature written T:swap
# exchanges the Na at the origin and the Cl half a cell along x before
# the run (an antisite pair: a local excess of charge +2 and -2 some 8.5 A
# apart, with 3 cells); T:far exchanges it with the Cl at the cell's centre
# instead (14.7 A apart: beyond the Coulomb cutoff, 11 A); both need an
# odd number of cells.
#   nacl_data.sh OUT.xyz SEED T1 [T2 ...]     (frames per temperature: $FRAMES, default 12; cells: $CELLS, default 3)
set -euo pipefail
out=$1; seed=$2; shift 2
frames=${FRAMES:-12} cells=${CELLS:-3}
command -v lmp > /dev/null || { echo "nacl_data.sh: lmp not found (Debian: apt-get install lammps)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$out"
for spec in "$@"; do
  T=${spec%%[/:]*} melt="" swap=""
  case $spec in *:swap|*:far) [ $((cells % 2)) = 1 ] || { echo "nacl_data.sh: $spec needs an odd \$CELLS" >&2; exit 1; } ;; esac
  case $spec in */*) melt=${spec#*/} ;; *:swap) swap="\${h} 0 0" ;; *:far) swap="\${h} \${h} \${h}" ;; esac
  {
    cat <<IN
units metal
atom_style charge
boundary p p p
lattice fcc 5.64
region box block 0 $cells 0 $cells 0 $cells
create_box 2 box
create_atoms 1 box
lattice fcc 5.64 origin 0.5 0 0
create_atoms 2 box
mass 1 22.98977
mass 2 35.453
set type 1 charge 1.0
set type 2 charge -1.0
IN
    # an antisite pair: the Na at the origin and a Cl trade places
    [ -n "$swap" ] && cat <<IN
variable h equal $cells*5.64/2
region rna sphere 0 0 0 0.1 units box
region rcl sphere $swap 0.1 units box
group gna region rna
group gcl region rcl
set group gna type 2
set group gna charge -1.0
set group gcl type 1
set group gcl charge 1.0
IN
    cat <<IN
pair_style born/coul/dsf 0.1 6.0 11.0
pair_coeff 1 1 0.2637 0.317 2.340 1.048553 -0.49935
pair_coeff 1 2 0.21096 0.317 2.755 6.99055 -8.6757
pair_coeff 2 2 0.158221 0.317 3.170 75.0544 -150.7325
pair_modify shift yes
neighbor 2.0 bin
timestep 0.001
IN
    if [ -n "$melt" ]; then
      cat <<IN
velocity all create $melt $seed dist gaussian mom yes rot yes
fix 1 all nvt temp $melt $melt 0.1
run 5000
unfix 1
fix 1 all nvt temp $melt $T 0.1
run 2000
unfix 1
IN
    else
      echo "velocity all create $T $seed dist gaussian mom yes rot yes"
    fi
    cat <<IN
fix 1 all nvt temp $T $T 0.1
thermo_style custom step pe
thermo_modify format float %.17g
thermo 100
run 2000
dump 1 all custom 100 $work/dump.nacl id type x y z fx fy fz q
dump_modify 1 sort id format float %.17g
run $((100 * (frames - 1)))
IN
  } > "$work/in.nacl"
  (cd "$work" && lmp -in in.nacl -log log.nacl -screen none)
  # the energies of the dumped steps (the last run's thermo lines), then the frames
  awk '$1 == "Step" { block++; next } $1 ~ /^[0-9]+$/ && NF == 2 { e[block, n[block]++] = $2 }
       END { for (i = 0; i < n[block]; i++) print e[block, i] }' "$work/log.nacl" > "$work/pe"
  awk -v pefile="$work/pe" 'BEGIN { while ((getline e < pefile) > 0) pe[k++] = e; split("Na Cl", name, " ") }
    /^ITEM: TIMESTEP/ { f++; getline; next }
    /^ITEM: NUMBER OF ATOMS/ { getline; n = $1; next }
    /^ITEM: BOX BOUNDS/ { getline; lx = $2 - $1; x0 = $1; getline; ly = $2 - $1; y0 = $1; getline; lz = $2 - $1; z0 = $1; next }
    /^ITEM: ATOMS/ { printf "%d\nLattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" Properties=species:S:1:pos:R:3:charges:R:1:forces:R:3 energy=%s pbc=\"T T T\"\n", n, lx, ly, lz, pe[f - 1]; next }
    { printf "%s %.12f %.12f %.12f %g %.12g %.12g %.12g\n", name[$2], $3 - x0, $4 - y0, $5 - z0, $9, $6, $7, $8 }' "$work/dump.nacl" >> "$out"
done
# every frame neutral (an antisite exchange that missed its ion would leave a net charge)
awk '/^[0-9]+$/ && NF == 1 { if (f && q * q > 1e-18) bad = f; f++; q = 0; getline; next } { q += $5 }
     END { if (q * q > 1e-18) bad = f; if (bad) { print "nacl_data.sh: frame " bad " is not neutral" > "/dev/stderr"; exit 1 } }' "$out"
echo "nacl_data.sh: $(grep -c Lattice "$out") frames of $((8 * cells * cells * cells)) ions in $out"
