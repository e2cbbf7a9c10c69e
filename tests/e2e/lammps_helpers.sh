# Shell functions of the tests against LAMMPS (particles.sh, kim.sh), sourced.

# LAMMPS's potential energy (thermo pe, not normalised) printed by lmp run 0.
lammps_pe() { awk '$1 == "Step" { getline; print $2; exit }' "$1"; }
# A LAMMPS dump (id x y z fx fy fz, sorted by id) of an orthorhombic
# periodic box as extended XYZ of species $1.
dump_to_xyz() {
  awk -v sp="$1" 'NR == 4 { n = $1 } NR == 6 { L = $2 }
    NR == 9 { print n; printf "Lattice=\"%s 0 0 0 %s 0 0 0 %s\" pbc=\"T T T\" Properties=species:S:1:pos:R:3\n", L, L, L }
    NR > 9 { print sp, $2, $3, $4 }' "$2"
}
# "relative energy error, largest force error / largest force" of physc's
# first frame $1 (potential= and forces) against dump $2 and energy $3.
errors_against() {
  paste -d' ' <(awk 'NR == 1 { n = $1 } NR > 2 && NR <= n + 2 { print $8, $9, $10 }' "$1") <(awk 'NR > 9 { print $5, $6, $7 }' "$2") |
    awk -v a="$(sed -n '2s/.*potential=\([^ ]*\).*/\1/p' "$1")" -v b="$3" '
    { for (k = 1; k <= 3; k++) { d = $k - $(k + 3); if (d < 0) d = -d; if (d > dmax) dmax = d
                                  f = $(k + 3); if (f < 0) f = -f; if (f > fmax) fmax = f } }
    END { de = (a - b) / b; if (de < 0) de = -de; printf "%.3g %.3g", de, dmax / fmax }'
}
