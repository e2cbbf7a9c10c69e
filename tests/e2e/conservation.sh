#!/usr/bin/env bash
# Conservation by construction, measured on compiled models:
#  1. momentum: examples/nbody.phys (a learned pair force, antisymmetric by
#     construction; untrained weights) conserves total momentum to 1e-12
#     relative over 1e4 leapfrog steps, read both from the program's drift
#     report and from the P_x, P_y columns of its output; a control model
#     whose pair force is not antisymmetric drifts;
#  2. energy: a learned H along 1e5 leapfrog steps oscillates without
#     secular drift (largest drift in the last tenth no more than 1.5 times
#     that in the first tenth), while RK4 at the same step drifts (drift at
#     the end 5 times that in the first tenth and above leapfrog's largest).
# usage: conservation.sh PHYSC ROOT
set -u
physc=$1 root=$2
. "$(dirname "$0")/harness.sh"

# 1. momentum
cp "$root/examples/nbody.phys" "$root/examples/nbody.csv" "$root/tests/e2e/models/nbody_biased.phys" .
grep -v '^#' "$root/examples/nbody_init.csv" | head -n 3 > init.csv   # header + 2 starts
"$physc" nbody.phys -o nbody && "$physc" nbody_biased.phys -o nbody_biased || { echo "FAIL compile"; exit 1; }
./nbody simulate --untrained --from init.csv --steps 10000 --every 100 --to mom.csv > report.txt || bad "nbody simulate"
reported=$(sed -n 's/^momentum: max relative drift \([^ ]*\) .*/\1/p' report.txt)
# sum_i |m_i v_i| at the start of each trajectory is the scale (m = 1)
measured=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { k = $1
    if ($2 == 0) { px[k] = $c["P_x"]; py[k] = $c["P_y"]; s = 0
                   for (i = 0; i < 8; i++) s += sqrt($c["v_" i "_x"] ^ 2 + $c["v_" i "_y"] ^ 2); scale[k] = s }
    d = sqrt(($c["P_x"] - px[k]) ^ 2 + ($c["P_y"] - py[k]) ^ 2) / scale[k]; if (d > m) m = d }
  END { printf "%.3g", m }' mom.csv)
awk -v r="$reported" -v m="$measured" 'BEGIN { exit !(r != "" && r + 0 <= 1e-12 && m + 0 <= 1e-12) }' &&
  ok "pair force: momentum drift over 1e4 steps $reported (report), $measured (output) <= 1e-12" ||
  bad "pair force: momentum drift $reported (report), $measured (output)"
./nbody_biased simulate --untrained --from init.csv --dt 0.005 --steps 1000 --to biased.csv > biased.txt || bad "control simulate"
control=$(sed -n 's/^momentum: max relative drift \([^ ]*\) .*/\1/p' biased.txt)
awk -v r="$control" 'BEGIN { exit !(r != "" && r + 0 >= 1e-6) }' &&
  ok "control: a force that is not antisymmetric drifts ($control)" || bad "control momentum drift '$control'"

# 2. energy along a learned H
cp "$root/tests/e2e/models/spring_small.phys" "$root/examples/spring.csv" .
"$physc" spring_small.phys -o spring_small || { echo "FAIL compile spring_small"; exit 1; }
./spring_small train --seed 0 --threads 2 --quiet || bad "spring_small train"
./spring_small simulate --quiet || bad "leapfrog simulate"
./spring_small simulate rk4 --quiet || bad "rk4 simulate"
drifts() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { s = $c["step"]; e = $c["energy"]; if (s == 0) e0 = e
      d = (e - e0) / e0; if (d < 0) d = -d
      if (s <= 10000 && d > first) first = d; if (s >= 90000 && d > last) last = d; end = d }
    END { printf "%.6g %.6g %.6g", first, last, end }' "$1"
}
read -r lf_first lf_last lf_end <<< "$(drifts leapfrog.csv)"
read -r rk_first rk_last rk_end <<< "$(drifts rk4.csv)"
echo "learned H, relative drift: leapfrog first tenth $lf_first, last tenth $lf_last; rk4 first tenth $rk_first, end $rk_end"
awk -v f="$lf_first" -v l="$lf_last" 'BEGIN { exit !(f > 0 && l <= 1.5 * f) }' &&
  ok "leapfrog: no secular drift over 1e5 steps" || bad "leapfrog drift grows: $lf_first -> $lf_last"
awk -v f="$rk_first" -v e="$rk_end" -v lf="$lf_last" 'BEGIN { exit !(e >= 5 * f && e > lf) }' &&
  ok "rk4: drifts steadily" || bad "rk4 drift: $rk_first -> $rk_end"

printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
