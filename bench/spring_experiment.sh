#!/usr/bin/env bash
# The Greydanus et al. (2019) ideal-spring experiment in physc: a Hamiltonian
# neural network (examples/spring.phys) against a plain network that
# regresses the time derivatives (examples/spring_plain.phys). Both: 2 x 200
# tanh, Adam lr 1e-3, 2000 full-batch steps on 25 noisy training
# trajectories (examples/tools/gen_data: 50 trajectories, 25 held out).
#
# Each trained model is rolled out from the 25 held-out clean start states
# with the same integrator (RK4, dt 0.01, t in [0, 20]); the table gives
#   energy MSE: mean over rollouts and output times of (E(q, p) - E0)^2 with
#               the true energy E = q^2 + p^2 (E0 at the start), and
#   state MSE:  mean of (q - q*)^2 + (p - p*)^2 against the exact solution
#               q* = q0 cos 2t + p0 sin 2t, p* = p0 cos 2t - q0 sin 2t, over
#               the training window t <= 3 and over the whole rollout.
# Greydanus et al. report energy MSE 3.8e-4 (HNN) and 1.7e-1 (baseline).
#
# usage: bench/spring_experiment.sh [BUILD_DIR] [WORK_DIR]
# A smaller run for tests: HIDDEN=64 STEPS=600 bench/spring_experiment.sh
# (both networks get two hidden layers of HIDDEN units, STEPS Adam steps).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"
"$build/gen_data" spring .
for m in spring spring_plain; do
  sed -e "${HIDDEN:+s/hidden = \[200, 200\]/hidden = [$HIDDEN, $HIDDEN]/}" \
      -e "${STEPS:+s/steps = 2000)/steps = $STEPS)/}" "$root/examples/$m.phys" > "$m.phys"
  "$build/compiler/physc" "$m.phys" -o "$m"
  start=$(date +%s.%N)
  "./$m" train --seed 0 --threads 2 --quiet
  end=$(date +%s.%N)
  echo "$m: trained in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s" >&2
  "./$m" simulate --integrator rk4 --dt 0.01 --steps 2000 --every 10 --to "$m.rollout.csv" --quiet
done

# energy MSE and state MSE of one rollout file against spring_test.csv
score() {
  awk -F, 'BEGIN { n = 0 }
    FNR == 1 { file++ }
    /^#/ || NF < 2 { next }
    file == 1 && !seen1++ { next }                       # header of spring_test.csv
    file == 1 { q0[n] = $1; p0[n] = $2; n++; next }
    file == 2 && !seen2++ { for (i = 1; i <= NF; i++) col[$i] = i; next }
    file == 2 {
      k = $col["trajectory"]; t = $col["t"]; q = $col["q"]; p = $col["p"]
      e0 = q0[k] ^ 2 + p0[k] ^ 2; e = q ^ 2 + p ^ 2
      qs = q0[k] * cos(2 * t) + p0[k] * sin(2 * t); ps = p0[k] * cos(2 * t) - q0[k] * sin(2 * t)
      se += (e - e0) ^ 2; ss += (q - qs) ^ 2 + (p - ps) ^ 2; rows++
      if (t <= 3) { s3 += (q - qs) ^ 2 + (p - ps) ^ 2; rows3++ }
    }
    END { printf "%.2e %.2e %.2e", se / rows, s3 / rows3, ss / rows }' spring_test.csv "$1"
}
read -r hnn_e hnn_s3 hnn_s <<< "$(score spring.rollout.csv)"
read -r plain_e plain_s3 plain_s <<< "$(score spring_plain.rollout.csv)"
echo
echo "| model | energy MSE, t in [0, 20] | state MSE, t in [0, 3] | state MSE, t in [0, 20] | energy MSE (Greydanus et al.) |"
echo "| --- | --- | --- | --- | --- |"
echo "| HNN (examples/spring.phys) | $hnn_e | $hnn_s3 | $hnn_s | 3.8e-4 |"
echo "| plain network (examples/spring_plain.phys) | $plain_e | $plain_s3 | $plain_s | 1.7e-1 |"
