#!/usr/bin/env bash
# Spin models compiled by physc: Hopfield recall of the example's letter
# images; a lattice sampled at T = 2 against Onsager's magnetisation;
# reproducibility for a seed with 1 and 2 threads; inverse Ising on
# samples of a known 20-spin model; the perceptron's sign and sigmoid; bad pattern files, T < 0 and energies
# that are not an Ising form give named errors.
set -u
physc=$1 root=$2
. "$(dirname "$0")/harness.sh"
cp "$root"/examples/hopfield.phys "$root"/examples/patterns.csv "$root"/examples/noisy.csv .
"$physc" hopfield.phys -o hopfield || { echo "FAIL compile hopfield"; exit 1; }
./hopfield recall > report.csv 2> err.txt || bad "recall: $(cat err.txt)"
if grep -q "mean overlap with the nearest pattern 1.0000" err.txt && cmp -s <(tail -n +2 recalled.csv) <(grep -v '^#' patterns.csv | tail -n +2); then
  ok "hopfield recall: $(cat err.txt)"
else bad "hopfield recall: $(cat err.txt)"; fi

# bad pattern files: file and line named, exit status 1
expect() { # description, pattern, content of patterns.csv
  printf '%b' "$3" > patterns.csv
  ./hopfield recall > /dev/null 2> err.txt; status=$?
  if [ $status -eq 1 ] && grep -qE "$2" err.txt; then ok "$1: $(head -n 1 err.txt)"; else bad "$1: status $status $(cat err.txt)"; fi
}
h=$(seq 0 63 | sed 's/^/s_/' | paste -sd, -)
row=$(yes 1 | head -n 64 | paste -sd, -)
expect "a value other than +-1" "patterns.csv:3: error: s_5 is 0" "$h\n$row\n$(echo "$row" | sed 's/^1,1,1,1,1,1,/1,1,1,1,1,0,/')\n"
expect "wrong number of columns" "patterns.csv:2: error: the row has 63 fields, the header has 64" "$h\n${row#1,}\n"
expect "missing column" "patterns.csv:1: error: no column 's_63'" "$(echo "$h" | sed 's/,s_63//')\n${row#1,}\n"
expect "empty file" "patterns.csv:1: error: the file is empty" ""
expect "a row longer than the header" "patterns.csv:2: error: the row has 65 fields, the header has 64" "$h\n$row,1\n"
expect "a header and no patterns" "patterns.csv:1: error: no data rows after the header" "$h\n"
expect "a value that is no number" "patterns.csv:2:1: error: 'up' is not a number \\(column s_0\\)" "$h\nup,${row#1,}\n"

cat > ising.phys <<'M'
const L = 16
spins s[L * L] in {-1, +1}
coupling K = lattice(L, L)
energy E(s) = -sum_pairs(i, j: K[i, j] * s[i] * s[j])
M
"$physc" ising.phys -o ising || { echo "FAIL compile ising"; exit 1; }
./ising sample --temperature -1 > /dev/null 2> err.txt; status=$?
if [ $status -eq 2 ] && grep -q "temperature must be > 0" err.txt; then ok "T < 0: $(cat err.txt)"; else bad "T < 0: $status $(cat err.txt)"; fi
for range in 0 1:-0.5:3; do
  opt=--temperature; [ "$range" = 0 ] || opt=--temperatures
  ./ising sample $opt $range > /dev/null 2> err.txt; status=$?
  if [ $status -eq 2 ] && grep -q "temperature must be > 0" err.txt; then ok "$opt $range: $(cat err.txt)"; else bad "$opt $range: $status $(cat err.txt)"; fi
done
./ising sample --temperature 2 --sweeps 4000 --burn-in 500 --seed 3 --threads 1 > t1.csv || bad "sample"
./ising sample --temperature 2 --sweeps 4000 --burn-in 500 --seed 3 --threads 2 > t2.csv || bad "sample"
if cmp -s t1.csv t2.csv; then ok "same seed, 1 and 2 threads: the same numbers"; else bad "threads change the result"; fi
# Onsager at T = 2: m = (1 - sinh(2/T)^-4)^(1/8) = 0.91132; L = 16 within 0.01
m=$(tail -n 1 t1.csv | cut -d, -f2)
if awk -v m="$m" 'BEGIN { exit !(m > 0.90 && m < 0.925) }'; then ok "|m| at T = 2, L = 16: $m (Onsager 0.9113)"; else bad "|m| at T = 2: $m"; fi

# refusals, located
printf 'spins s[4] in {-1, +1}\ncoupling W = matrix("w.csv")\nenergy E(s) = sum(i: s[i] * s[i] * s[i])\n' > cubic.phys
"$physc" cubic.phys -o cubic 2> err.txt; status=$?
if [ $status -eq 1 ] && grep -q "cubic.phys:3:.*not supported yet: .*supported: an Ising energy" err.txt; then ok "non-Ising energy: $(head -n 1 err.txt)"; else bad "non-Ising energy: $(cat err.txt)"; fi
printf 'spins s[4] in {0, 1}\ncoupling W = matrix("w.csv")\nenergy E(s) = -sum(i, j: W[i, j] * s[i] * s[j])\n' > binary.phys
"$physc" binary.phys -o binary 2> err.txt; status=$?
if [ $status -eq 1 ] && grep -q "binary.phys:1:.*not supported yet: spins taking values other than" err.txt; then ok "{0, 1} spins: $(head -n 1 err.txt)"; else bad "{0, 1} spins: $(cat err.txt)"; fi

# the form is read from resolutions: a const vector is not a bias, W[i, i] is not W[i, j]
printf 'const q[2] = [1, -1]\nspins s[2] in {-1, +1}\ncoupling W = matrix("w.csv")\nenergy E(s) = -sum(i, j: W[i, j] * s[i] * s[j]) - sum(i: q[i] * s[i])\n' > constm.phys
"$physc" constm.phys -o constm 2> err.txt; status=$?
if [ $status -eq 1 ] && grep -q "constm.phys:4:.*not supported yet: this factor in a spin energy" err.txt; then ok "a const vector is not a bias: $(head -n 1 err.txt | cut -c1-90)"; else bad "const vector: $(cat err.txt)"; fi
printf 'spins s[2] in {-1, +1}\ncoupling W = matrix("w.csv")\nenergy E(s) = -sum(i, j: W[i, i] * s[i] * s[j])\n' > diag.phys
"$physc" diag.phys -o diag 2> err.txt; status=$?
if [ $status -eq 1 ] && grep -q "diag.phys:3:.*not supported yet:" err.txt; then ok "W[i, i] refused: $(head -n 1 err.txt | cut -c1-90)"; else bad "W[i, i]: $(cat err.txt)"; fi
printf 'spins s[3] in {-1, +1}\ncoupling W = matrix("w.csv")\nenergy E(s) = -sum(i, j: W[i, j] * s[i] * s[j])\n' > asym.phys
printf 's_0,s_1,s_2\n0,1,2\n1,0,1\n1,1,0\n' > w.csv
"$physc" asym.phys -o asym && ./asym sample --temperature 1 --sweeps 10 > /dev/null 2> err.txt; status=$?
if [ $status -eq 1 ] && grep -q "w.csv:4: error: couplings must be symmetric" err.txt; then ok "asymmetric matrix: $(head -n 1 err.txt)"; else bad "asymmetric matrix: $status $(cat err.txt)"; fi

# inverse Ising: samples of the known model, couplings recovered
cp "$root"/examples/ising20.phys "$root"/examples/ising20_W.csv "$root"/examples/inverse_ising.phys .
"$physc" ising20.phys -o ising20 && "$physc" inverse_ising.phys -o inverse_ising || { echo "FAIL compile inverse"; exit 1; }
./ising20 sample --temperature 1 --sweeps 20000 --burn-in 500 --samples samples.csv > /dev/null || bad "samples"
./inverse_ising learn samples.csv --compare ising20_W.csv > learn.txt 2>&1 || bad "learn: $(cat learn.txt)"
rel=$(sed -n 's/.*relative //p' learn.txt)
if awk -v r="$rel" 'BEGIN { exit !(r != "" && r < 0.15) }'; then ok "inverse Ising, 20000 samples: relative coupling error $rel"; else bad "inverse Ising: $(cat learn.txt)"; fi
./inverse_ising sample --temperature 1 --sweeps 200 > /dev/null || bad "sampling the learned model"
# the perceptron: sign(w . x + theta) at T = 0, sigmoid(2 h / T) at T = 1 (within 4 binomial sigmas)
cp "$root"/examples/perceptron* .
"$physc" perceptron.phys -o perceptron && ./perceptron recall --clamp 0:8 > /dev/null 2> err.txt || bad "perceptron: $(cat err.txt)"
if /usr/bin/python3 - <<'PY'
import sys
import numpy as np
W = np.loadtxt("perceptron_couplings.csv", delimiter=",", skiprows=1)
b = np.loadtxt("perceptron_bias.csv", delimiter=",", skiprows=1)
x = np.loadtxt("perceptron_inputs.csv", delimiter=",", skiprows=1)
y = np.loadtxt("perceptron_sign.csv", delimiter=",", skiprows=1)
h = x[:, :8] @ W[8, :8] + b[8]
ok = np.all(y[:, 8] == np.sign(h)) and np.all(y[:, :8] == x[:, :8])
r = np.loadtxt("perceptron_sampled.csv", delimiter=",", skiprows=1)
for k in range(4):
    f, p = np.mean(r[1000 * k:1000 * (k + 1), 8] > 0), 1 / (1 + np.exp(-2 * h[k]))
    print("  h = %.3f: P(+1) measured %.3f, sigmoid(2h) %.3f" % (h[k], f, p))
    ok = ok and abs(f - p) <= 4 * np.sqrt(p * (1 - p) / 1000)
sys.exit(0 if ok else 1)
PY
then ok "perceptron: sign rule at T = 0, sigmoid at T = 1"; else bad "perceptron"; fi
[ $fail -eq 0 ] && echo "all passed" || { echo "$fail failed"; exit 1; }
