#!/usr/bin/env bash
# The pair physics of stdlib/potentials.phys in compiled models and the REPL:
#  1. Lennard-Jones (sigma = eps = 1) of two atoms at r = 1: E = 0 and a
#     force of 24 along the axis (-dE/dr);
#  2. Morse (examples/morse.phys): E(r0) = -De, no force at r0, the
#     stretch curvature 2 a^2 De from central differences of the forces;
#  3. damped shifted force Coulomb: energy and force vanish at rc (Wolf's
#     force does not); pair values against the formula;
#  4. periodic ion configurations (numpy, tests/e2e/ionic_reference.py):
#     DSF energies and forces to 1e-12, also with rc beyond half the cell
#     and beyond the cell (images of a particle itself); the crystal's
#     Coulomb energy against Madelung's constant; a learned pair term
#     beside DSF: forces against central differences;
#  5. dispersion (Becke-Johnson, zero damping, D3 forms) and the cosine
#     switch at a few distances against the formulas computed by python;
#  6. NVE of examples/ionic.phys (512 ions) and examples/morse.phys:
#     bounded energy drift, momentum to round-off.
# usage: longrange.sh PHYSC ROOT
set -u
physc=$(realpath "$1") root=$(realpath "$2")
py=/usr/bin/python3
ref=$root/tests/e2e/ionic_reference.py
lattice=$root/examples/tools/lattice.sh
. "$(dirname "$0")/harness.sh"
# within A B TOL: |A - B| <= TOL max(|B|, 1e-300), both numbers
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN {
  if (a !~ /^[-+0-9.eE]+$/ || b !~ /^[-+0-9.eE]+$/) exit 1
  d = a - b; if (d < 0) d = -d; s = b < 0 ? -b : b; exit !(d <= t * (s > 1e-300 ? s : 1e-300)) }'; }
# small A TOL: |A| <= TOL
small() { awk -v a="$1" -v t="$2" 'BEGIN { if (a !~ /^[-+0-9.eE]+$/) exit 1; exit !(a <= t && -a <= t) }'; }
potential() { sed -n '2s/.*potential=\([^ ]*\).*/\1/p' "$1"; }
# the force (3 numbers) of atom $2 (from 0) in the first frame of $1, whose forces are the last 3 columns
force_of() { awk -v a="$2" 'NR == 3 + a { print $(NF - 2), $(NF - 1), $NF }' "$1"; }
one_frame() { # PROGRAM START OUT: the energy and forces of START, nothing moved
  "./$1" simulate --from "$2" --steps 1 --dt 1e-12 --to "$3" --quiet > /dev/null
}
two_atoms() { # X: two atoms on the x axis at distance X, open boundaries
  printf '2\nProperties=species:S:1:pos:R:3\nX 0 0 0\nX %s 0 0\n' "$1"
}

# 1. Lennard-Jones: E(1) = 0, dE/dr(1) = -24, so atom 1 is pushed along +x by 24
cat > lj2.phys <<'EOF'
model lj2
import potentials
particles atoms with r[3], v[3]
energy V(atoms) = sum_pairs(i, j: lennard_jones(dist(i, j), 1, 1))
force F = -grad(V, r)
dynamics newton(F, mass = 1)
simulate verlet(dt = 0.001, steps = 1) from "start.xyz"
EOF
"$physc" lj2.phys -o lj2 || bad "compile lj2"
two_atoms 1 > start.xyz
one_frame lj2 start.xyz lj.xyz || bad "lj2 simulate"
e=$(potential lj.xyz)
read -r f0x f0y f0z <<< "$(force_of lj.xyz 0)"
read -r f1x f1y f1z <<< "$(force_of lj.xyz 1)"
if small "$e" 1e-14 && within "$f1x" 24 1e-13 && within "$f0x" -24 1e-13 &&
   small "$f1y" 0 && small "$f1z" 0 && small "$f0y" 0 && small "$f0z" 0; then
  ok "Lennard-Jones at r = 1: E = $e, force on atom 1 ($f1x, $f1y, $f1z), on atom 0 $f0x"
else bad "Lennard-Jones at r = 1: E = $e, forces ($f0x $f0y $f0z) ($f1x $f1y $f1z)"; fi

# 2. Morse: examples/morse.phys (H2: De 4.7446 eV, a 1.9426 / A, r0 0.7416 A)
cp "$root/examples/morse.phys" "$root/examples/morse_start.xyz" "$root/examples/morse_triangle.xyz" .
"$physc" morse.phys -o morse || bad "compile morse"
de=4.7446 a=1.9426 r0=0.7416
two_atoms $r0 > at.xyz
one_frame morse at.xyz m0.xyz || bad "morse simulate"
e=$(potential m0.xyz)
read -r fx fy fz <<< "$(force_of m0.xyz 1)"
if within "$e" -$de 1e-14 && small "$fx" 1e-12 && small "$fy" 0 && small "$fz" 0; then
  ok "Morse at r0: E = $e (-De = -$de), force on atom 1 ($fx, $fy, $fz)"
else bad "Morse at r0: E = $e, force ($fx $fy $fz)"; fi
h=1e-5
two_atoms "$(awk -v r=$r0 -v h=$h 'BEGIN { printf "%.17g", r + h }')" > plus.xyz
two_atoms "$(awk -v r=$r0 -v h=$h 'BEGIN { printf "%.17g", r - h }')" > minus.xyz
one_frame morse plus.xyz mp.xyz && one_frame morse minus.xyz mm.xyz || bad "morse simulate at r0 +- h"
curv=$(paste -d' ' <(force_of mp.xyz 1) <(force_of mm.xyz 1) | awk -v h=$h '{ printf "%.15g", -($1 - $4) / (2 * h) }')
exact=$(awk -v a=$a -v d=$de 'BEGIN { printf "%.15g", 2 * a * a * d }')
within "$curv" "$exact" 1e-8 &&
  ok "Morse curvature at r0 from forces at r0 +- $h: $curv, 2 a^2 De = $exact" ||
  bad "Morse curvature $curv against 2 a^2 De = $exact"
two_atoms 0.80 > s.xyz
one_frame morse s.xyz ms.xyz || bad "morse simulate at 0.80"
e=$(potential ms.xyz)
want=$(awk -v a=$a -v d=$de -v r0=$r0 'BEGIN { x = 1 - exp(-a * (0.80 - r0)); printf "%.17g", d * (x * x - 1) }')
within "$e" "$want" 1e-13 && ok "Morse at r = 0.80: E = $e, De ((1 - exp(-a (r - r0)))^2 - 1) = $want" ||
  bad "Morse at 0.80: $e against $want"

# 3. and 5. pair functions in the REPL against python's own formulas
cat > pairs.txt <<'EOF'
import potentials
let dsf(r) = coulomb_dsf(1, -1, r, 0.2, 11)
let wolf(r) = coulomb_wolf(1, -1, r, 0.2, 11)
dsf(11 * (1 - 1e-9))
d(dsf, r)(11 * (1 - 1e-9))
dsf(11)
d(wolf, r)(11 * (1 - 1e-9))
dsf(3.1)
d(dsf, r)(3.1)
coulomb_damped_self(-1, 0.2, 11)
damping_zero(2.0, 3.1, 1.217, 14)
damping_zero(3.1 * 1.217, 3.1, 1.217, 14)
damping_zero(6.5, 3.1, 1.217, 14)
dispersion_zero(4.2, 12.5, 3.1, 1.217)
dispersion_bj(0, 12.5, 2.9, 0.4289, 4.4407)
dispersion_bj(1.5, 12.5, 2.9, 0.4289, 4.4407)
dispersion_bj(5.0, 12.5, 2.9, 0.4289, 4.4407)
d3_bj(3.3, 12.5, 300, 1, 0.7875, 0.4289, 4.4407)
d3_zero(3.3, 12.5, 300, 3.1, 1, 0.722, 1.217)
switch_cosine(4.6, 4, 6)
buckingham(2.5, 1388.77, 0.3623, 175)
EOF
"$physc" repl < pairs.txt > pairs.out 2> pairs.err || bad "repl: $(cat pairs.err)"
"$py" - > pairs.want <<'EOF'
import math
def dsf(r, a=0.2, rc=11.0):
    s = math.erfc(a * rc) / rc**2 + 2 * a / math.sqrt(math.pi) * math.exp(-(a * rc)**2) / rc
    return -(math.erfc(a * r) / r - math.erfc(a * rc) / rc + s * (r - rc))
def ddsf(r, a=0.2, rc=11.0):
    s = math.erfc(a * rc) / rc**2 + 2 * a / math.sqrt(math.pi) * math.exp(-(a * rc)**2) / rc
    return -(-math.erfc(a * r) / r**2 - 2 * a / math.sqrt(math.pi) * math.exp(-(a * r)**2) / r + s)
fzero = lambda r, r0, sr, al: 1 / (1 + 6 * (r / (sr * r0))**(-al))
bj = lambda r, c6, r0, a1, a2: -c6 / (r**6 + (a1 * r0 + a2)**6)
for v in [dsf(3.1), ddsf(3.1), -(math.erfc(2.2) / 22 + 0.2 / math.sqrt(math.pi)),
          fzero(2.0, 3.1, 1.217, 14), 1 / 7, fzero(6.5, 3.1, 1.217, 14),
          -12.5 / 4.2**6 * fzero(4.2, 3.1, 1.217, 14),
          bj(0, 12.5, 2.9, 0.4289, 4.4407), bj(1.5, 12.5, 2.9, 0.4289, 4.4407), bj(5.0, 12.5, 2.9, 0.4289, 4.4407),
          -12.5 / (3.3**6 + (0.4289 * math.sqrt(300 / 12.5) + 4.4407)**6)
          - 0.7875 * 300 / (3.3**8 + (0.4289 * math.sqrt(300 / 12.5) + 4.4407)**8),
          -12.5 / 3.3**6 * fzero(3.3, 3.1, 1.217, 14) - 0.722 * 300 / 3.3**8 * fzero(3.3, 3.1, 1, 16),
          0.5 * (1 + math.cos(math.pi * 0.3)), 1388.77 * math.exp(-2.5 / 0.3623) - 175 / 2.5**6]:
    print("%.17g" % v)
EOF
mapfile -t got < pairs.out
mapfile -t want < pairs.want
if small "${got[0]}" 1e-17 && small "${got[1]}" 1e-10 && [ "${got[2]}" = 0 ] && ! small "${got[3]}" 1e-5; then
  ok "DSF at rc (1 - 1e-9): E = ${got[0]}, dE/dr = ${got[1]}, E(rc) = ${got[2]}; Wolf's dE/dr there ${got[3]}"
else bad "DSF at rc: E ${got[0]}, dE/dr ${got[1]}, E(rc) ${got[2]}, Wolf dE/dr ${got[3]}"; fi
names=("DSF(3.1)" "DSF'(3.1)" "DSF self" "zero damping(2.0)" "zero damping(sr R0) = 1/7" "zero damping(6.5)"
       "dispersion_zero(4.2)" "BJ(0)" "BJ(1.5)" "BJ(5.0)" "D3(BJ)(3.3)" "D3(zero)(3.3)" "cosine switch" "Buckingham(2.5)")
worst=0 bad_one=""
for k in "${!want[@]}"; do
  g=${got[$((k + 4))]:-none}
  within "$g" "${want[$k]}" 1e-13 || bad_one="$bad_one ${names[$k]}: $g against ${want[$k]};"
  worst=$(awk -v a="$g" -v b="${want[$k]}" -v w="$worst" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; print (d > w ? d : w) }')
done
[ -z "$bad_one" ] && [ ${#want[@]} -eq 14 ] &&
  ok "14 pair, damping and switch values against python: max relative difference $worst" ||
  bad "pair values:$bad_one (${#want[@]} computed)"

# 4. periodic ions: DSF (+ self term) alone, and the hybrid example, against numpy
cat > dsf.phys <<'EOF'
model dsf
import potentials
particles ions with r[3], v[3], mass m, charge q
const rc = 11.0
energy V(ions) = sum_pairs(i, j within rc: coulomb_k_metal * coulomb_dsf(q[i], q[j], dist(i, j), 0.2, rc))
    + sum(i: coulomb_k_metal * coulomb_damped_self(q[i], 0.2, rc))
force F = -grad(V, r)
dynamics newton(F, mass = m)
simulate verlet(dt = 0.1, steps = 1) from "start.xyz"
EOF
"$physc" dsf.phys -o dsf || bad "compile dsf"
cp "$root/examples/ionic.phys" "$root/examples/ionic_start.xyz" .
"$physc" ionic.phys -o ionic || bad "compile ionic"
k=14.399645478425668
compare() { # PROGRAM START [--born]: relative energy error and max force error / max force against numpy
  one_frame "$1" "$2" out.xyz || { echo "run-failed"; return; }
  "$py" "$ref" "$2" 0.2 11 $k ${3:-} > want.txt || { echo "reference-failed"; return; }
  paste -d' ' <(awk 'NR == 1 { n = $1 } NR > 2 && NR <= n + 2 { print $(NF - 2), $(NF - 1), $NF }' out.xyz) <(tail -n +2 want.txt) |
    awk -v a="$(potential out.xyz)" -v b="$(head -n 1 want.txt)" '
    { for (c = 1; c <= 3; c++) { d = $c - $(c + 3); if (d < 0) d = -d; if (d > dmax) dmax = d
                                  f = $(c + 3); if (f < 0) f = -f; if (f > fmax) fmax = f } n++ }
    END { de = (a - b) / b; if (de < 0) de = -de; printf "%.3g %.3g %d %.17g", de, dmax / fmax, n, a }'
}
check_ions() { # DESCRIPTION PROGRAM START [--born]
  read -r de df n e <<< "$(compare "$2" "$3" "${4:-}")"
  if small "$de" 1e-12 && small "$df" 1e-11 && [ "$n" -gt 0 ]; then
    ok "$1: $n ions, E = $e eV; relative energy error $de, max force error / max force $df"
  else bad "$1: $de $df $n"; fi
}
"$lattice" rocksalt 2 5.64 0.15 0 3 Na:22.98977:1,Cl:35.453:-1 > ions64.xyz   # L = 11.28 A: rc reaches past L/2
check_ions "DSF, rocksalt 2 x 2 x 2 displaced, rc = 11 A in a cell of 11.28 A" dsf ions64.xyz
"$lattice" rocksalt 1 5.64 0.15 0 4 Na:22.98977:1,Cl:35.453:-1 > ions8.xyz     # L = 5.64 A: each ion meets its own images
check_ions "DSF, one cell of 8 ions (rc = 11 A, about twice the cell: images of each ion itself)" dsf ions8.xyz
"$lattice" rocksalt 2 5.64 0.15 0 5 Na:22.98977:1,Cl:35.453:-1 > ions64b.xyz
check_ions "examples/ionic.phys (Tosi-Fumi + DSF), rocksalt 2 x 2 x 2 displaced" ionic ions64b.xyz --born
# the perfect crystal: Coulomb energy per ion pair against -M k / d (M = 1.747564594633, d = a / 2)
"$lattice" rocksalt 4 5.64 0 0 1 Na:22.98977:1,Cl:35.453:-1 > crystal.xyz
one_frame dsf crystal.xyz cr.xyz || bad "dsf on the crystal"
read -r per madelung rel <<< "$(awk -v e="$(potential cr.xyz)" -v k=$k 'BEGIN {
  m = -1.747564594633 * k / 2.82; p = e / 256; d = (p - m) / m; if (d < 0) d = -d; printf "%.10g %.10g %.3g", p, m, d }')"
small "$rel" 3e-3 &&
  ok "DSF (alpha 0.2 / A, rc 11 A) on perfect NaCl (a = 5.64 A): $per eV per ion pair, Madelung $madelung eV (relative $rel)" ||
  bad "DSF against Madelung: $per against $madelung ($rel)"

# a learned short range (switched off from 3 to 5 A) beside DSF in one pair sum:
# forces = -grad V against central differences of the energy (untrained weights)
cat > hybrid.phys <<'EOF'
model hybrid
import potentials
particles ions with r[3], v[3], mass m, charge q
field g(s) = mlp(hidden = [8, 8], activation = tanh)
energy V(ions) = sum_pairs(i, j within 11.0: switch(dist(i, j), 3, 5) * g(dist(i, j))
                                           + coulomb_k_metal * coulomb_dsf(q[i], q[j], dist(i, j), 0.2, 11.0))
    + sum(i: coulomb_k_metal * coulomb_damped_self(q[i], 0.2, 11.0))
force F = -grad(V, r)
dynamics newton(F, mass = m)
simulate verlet(dt = 0.1, steps = 1) from "start.xyz"
EOF
"$physc" hybrid.phys -o hybrid || bad "compile hybrid"
energy_at() { ./hybrid simulate --untrained --from "$1" --steps 1 --dt 1e-12 --to e.xyz --quiet && potential e.xyz; }
energy_at ions8.xyz > /dev/null || bad "hybrid simulate"
cp e.xyz base.xyz
h=1e-5
: > pairs_fd.txt
for atom in 0 3 6; do
  for axis in 0 1 2; do
    awk -v a=$atom -v x=$axis -v h=$h 'NR == 3 + a { $(2 + x) = sprintf("%.17g", $(2 + x) + h) } { print }' ions8.xyz > plus.xyz
    awk -v a=$atom -v x=$axis -v h=$h 'NR == 3 + a { $(2 + x) = sprintf("%.17g", $(2 + x) - h) } { print }' ions8.xyz > minus.xyz
    echo "$(energy_at plus.xyz) $(energy_at minus.xyz) $(force_of base.xyz $atom | awk -v x=$axis '{ print $(x + 1) }')" >> pairs_fd.txt
  done
done
# the largest |F - FD| over the largest |F| (an energy of -36 eV keeps FD's round-off near 1e-9 eV/A)
worst=$(awk -v h=$h 'NF != 3 { bad = 1 } { d = $3 + ($1 - $2) / (2 * h); if (d < 0) d = -d; if (d > dmax) dmax = d
                                          f = $3 < 0 ? -$3 : $3; if (f > fmax) fmax = f }
  END { if (bad || NR != 9 || fmax == 0) print "unreadable"; else printf "%.3g", dmax / fmax }' pairs_fd.txt)
small "$worst" 1e-6 &&
  ok "learned pair term + DSF, 8 ions: forces = -grad V against central differences, max error / max force $worst (9 components)" ||
  bad "learned pair term + DSF: forces against central differences: $worst"

# 6. NVE: the ionic example (512 ions, 300 K) and the Morse molecules
drift_of() { awk -F, 'NR == 2 { e0 = $5 } NR > 1 { d = ($5 - e0) / e0; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g", m }' "$1"; }
./ionic simulate --steps 400 --every 10 --to nve.xyz > nve.txt 2>&1 || bad "ionic NVE: $(cat nve.txt)"
drift=$(drift_of nve.csv)
mom=$(sed -n 's/^momentum: max relative drift \([^ ]*\) .*/\1/p' nve.txt)
small "$drift" 1e-5 && small "$mom" 1e-12 &&
  ok "ionic NVE, 512 ions, 400 steps of 1 fs: energy within $drift relative, momentum drift $mom" ||
  bad "ionic NVE: energy drift $drift, momentum $mom"
for start in morse_start.xyz morse_triangle.xyz; do
  ./morse simulate --from $start --to "${start%.xyz}_run.xyz" > m.txt 2>&1 || bad "morse NVE from $start: $(cat m.txt)"
  drift=$(drift_of "${start%.xyz}_run.csv")
  small "$drift" 1e-5 && ok "morse NVE from $start, 2000 steps of 0.05 fs: energy within $drift relative" ||
    bad "morse NVE from $start: energy drift $drift"
done

[ $fail -eq 0 ] && echo "all long-range checks passed" || echo "$fail long-range check(s) failed"
exit $((fail > 0))
