#!/usr/bin/env bash
# Issue 13: the hessian verb, and the stress. Morse H2 at r0: the stretch entry of the
# analytic Hessian equals 2 a^2 De to 1e-8 and the vibration 521.47091
# sqrt(2 k / m_H) cm^-1; Stillinger-Weber silicon (8 displaced atoms of a
# periodic cell): the Hessian equals central differences of the forces
# (from `test --write` on displaced frames) to 1e-6 of its largest entry;
# the silicon network's stress against strain differences of its energy.
set -u
physc=$1 root=$2
. "$(dirname "$0")/harness.sh"
cp "$root"/examples/morse.phys "$root"/examples/stillinger_weber.phys .
"$physc" --stdlib "$root"/stdlib morse.phys -o morse || { echo "FAIL compile morse"; exit 1; }
printf '2\nProperties=species:S:1:pos:R:3\nH 0 0 0\nH 0.7416 0 0\n' > h2.xyz
./morse hessian h2.xyz --matrix H.csv > h2.txt 2>&1 || bad "hessian h2: $(cat h2.txt)"
awk -F, 'NR == 1 { k = $1; want = 2 * 1.9426^2 * 4.7446; d = (k - want) / want; if (d < 0) d = -d
  printf "%.17g %.3g\n", k, d; exit (d > 1e-8) }' H.csv > k.txt && ok "Morse stretch entry $(cat k.txt) (relative error against 2 a^2 De)" ||
  bad "Morse stretch entry: $(cat k.txt)"
f=$(awk -F, '$4 == "vibration" { print $2 }' h2.txt)
awk -v f="$f" 'BEGIN { want = 521.47091 * sqrt(2 * 2 * 1.9426^2 * 4.7446 / 1.00794); d = (f - want) / want; if (d < 0) d = -d
  exit (d > 1e-6) }' && ok "H2 vibration $f cm^-1" || bad "H2 vibration '$f' cm^-1: $(cat h2.txt)"
grep -q "zero-point energy .* over 1 vibrations (0 imaginary, 5 translations and rotations left out)" h2.txt &&
  ok "$(grep zero-point h2.txt)" || bad "zero-point line: $(cat h2.txt)"

# Stillinger-Weber: the analytic Hessian against central differences of the forces
"$physc" stillinger_weber.phys -o sw || { echo "FAIL compile sw"; exit 1; }
cat > cell.xyz <<'XYZ'
8
Lattice="5.431 0 0 0 5.431 0 0 0 5.431" Properties=species:S:1:pos:R:3 pbc="T T T"
Si 0.05 -0.02 0.03
Si 0.01 2.75 2.70
Si 2.70 0.04 2.74
Si 2.73 2.69 -0.03
Si 1.39 1.33 1.37
Si 1.36 4.09 4.05
Si 4.08 1.38 4.10
Si 4.05 4.06 1.32
XYZ
./sw hessian cell.xyz --matrix Hsw.csv > sw.txt 2>&1 || bad "hessian sw: $(cat sw.txt)"
h=1e-5
awk -v h=$h 'NR == 1 { n = $1; next } NR == 2 { hdr = $0; next } { sp[NR - 3] = $1; x[NR - 3, 0] = $2; x[NR - 3, 1] = $3; x[NR - 3, 2] = $4 }
  END { for (c = 0; c < 3 * n; c++) for (s = -1; s <= 1; s += 2) { print n; print hdr
          for (a = 0; a < n; a++) { printf "%s", sp[a]; for (k = 0; k < 3; k++) printf " %.17g", x[a, k] + (3 * a + k == c ? s * h : 0); printf "\n" } } }' cell.xyz > displaced.xyz
./sw test displaced.xyz --write forces.xyz > /dev/null 2>&1 || bad "test --write of the displaced frames"
# column c of the Hessian: (F(x - h e_c) - F(x + h e_c)) / 2h
awk -v h=$h -F, 'FNR == NR { for (q = 1; q <= NF; q++) H[FNR - 1, q - 1] = $q; N = NF; next }
  FNR % 10 == 1 { frame++; next } FNR % 10 == 2 { next }
  { split($0, w, " "); a = (FNR - 1) % 10 - 2; c = int((frame - 1) / 2); s = (frame - 1) % 2
    for (k = 0; k < 3; k++) F[s, c, 3 * a + k] = w[k + 5] }
  END { m = 0; e = 0
        for (p = 0; p < N; p++) for (c = 0; c < N; c++) { if (H[p, c] > m) m = H[p, c]; if (-H[p, c] > m) m = -H[p, c]
          d = H[p, c] - (F[0, c, p] - F[1, c, p]) / (2 * h); if (d < 0) d = -d; if (d > e) e = d }
        printf "%.3g %.6g\n", e / m, m; exit (e > 1e-6 * m) }' Hsw.csv forces.xyz > fd.txt &&
  ok "Stillinger-Weber Hessian against central differences of the forces: largest error / largest entry, largest entry: $(cat fd.txt)" ||
  bad "Stillinger-Weber Hessian against central differences: $(cat fd.txt)"
# the stress of the silicon network (untrained weights) against central
# differences of the energy under the deformations I + h e_a e_b^T:
# sigma_ab = dE/dF_ab / V (ASE's convention)
cp "$root"/examples/silicon.phys .
"$physc" silicon.phys -o silicon || { echo "FAIL compile silicon"; exit 1; }
sed 's/ 5.431 / 5.6 /; s/"5.431 /"5.6 /; s/ 5.431"/ 5.6"/' cell.xyz > cell_si.xyz
./silicon test cell_si.xyz --untrained --write stress.xyz > /dev/null 2>&1 || bad "silicon test --write"
awk -v h=1e-5 'NR == 1 { n = $1; next } NR == 2 { match($0, /Lattice="[^"]*"/); split(substr($0, RSTART + 9, RLENGTH - 10), L, " "); next }
  { sp[NR - 3] = $1; for (k = 0; k < 3; k++) x[NR - 3, k] = $(k + 2) }
  END { for (a = 0; a < 3; a++) for (b = 0; b < 3; b++) for (s = -1; s <= 1; s += 2) { print n; printf "Lattice=\""
          for (v = 0; v < 3; v++) for (k = 0; k < 3; k++) printf "%s%.17g", (v || k) ? " " : "", L[3 * v + k + 1] + (k == a ? s * h * L[3 * v + b + 1] : 0)
          printf "\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n"
          for (i = 0; i < n; i++) { printf "%s", sp[i]; for (k = 0; k < 3; k++) printf " %.17g", x[i, k] + (k == a ? s * h * x[i, b] : 0); printf "\n" } } }' \
  cell_si.xyz > strained.xyz
./silicon test strained.xyz --untrained --write strained_out.xyz > /dev/null 2>&1 || bad "silicon test of the strained frames"
V=$(awk 'NR == 2 { match($0, /Lattice="[^"]*"/); split(substr($0, RSTART + 9, RLENGTH - 10), h, " ")
  printf "%.17g", h[1] * (h[5] * h[9] - h[6] * h[8]) - h[2] * (h[4] * h[9] - h[6] * h[7]) + h[3] * (h[4] * h[8] - h[5] * h[7]) }' cell_si.xyz)
ds=$(paste -d' ' <(sed -n '2s/.*stress="\([^"]*\)".*/\1/p' stress.xyz | tr ' ' '\n') \
       <(grep -o 'energy=[^ ]*' strained_out.xyz | cut -d= -f2 | paste - -) |
     awk -v h=1e-5 -v V="$V" '{ fd = ($3 - $2) / (2 * h * V); d = $1 - fd; if (d < 0) d = -d; if (d > e) e = d; a = $1; if (a < 0) a = -a; if (a > m) m = a }
       END { printf "%.3g", e / m }')
awk -v d="$ds" 'BEGIN { exit !(d != "" && d + 0 <= 1e-6) }' && ok "silicon network's stress against strain differences of its energy: largest error / largest component $ds" ||
  bad "silicon network's stress against strain differences: '$ds'"
[ $fail -eq 0 ] && echo "hessian: all checks passed" || echo "hessian: $fail check(s) failed"
exit $((fail != 0))
