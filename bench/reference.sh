#!/usr/bin/env bash
# The reference problem set (issue 15): each problem of examples/ with an
# exact solution is compiled and trained with its own schedule (float64
# quasi-Newton stages after Adam; seed 0, 2 threads, one training at a
# time), then evaluated on a grid against the exact solution
# (bench/reference_error.py, /usr/bin/python3 with numpy; Burgers by
# bench/burgers_exact, the Cole-Hopf solution). Prints one line per
# problem: the relative L2 error over the grid (every output of the field
# together; Kovasznay: u, v, p), the wall time of its training, and the
# best published figure we could find beside it, with its source
# ("unverified" where we could not check the number in the source itself).
# Lorenz is an inverse problem: its "error" is the largest relative error
# of s, r, b. Outside the test suite: about 13 minutes on 2 cores.
# Usage: bench/reference.sh [BUILD_DIR] [PROBLEM ...]
#   PROBLEM: burgers wave helmholtz klein_gordon kovasznay lorenz heat poisson
#   (default: these), heat_shipped poisson_shipped poisson_hard (the
#   examples' own schedules). heat and poisson run examples/heat.phys and
#   examples/poisson.phys with Adam 1000 then SSBroyden 4000 put in place
#   of their schedules (Adam 3000, L-BFGS 2000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
shift || true
problems=${*:-burgers wave helmholtz klein_gordon kovasznay lorenz heat poisson}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# problem: example|train options|eval grid|schedule put in place of the
# example's (empty: its own)|published figure (source)
ssb='adam(lr = 1e-3, steps = 1000), ssbroyden(steps = 4000)'
spec() {
  case $1 in
    burgers) echo "burgers|--stages 1000,2000|x=-1:1:256 t=0:1:100||6.7e-4 (Raissi, Perdikaris & Karniadakis 2019, JCP 378; 8 x 20 tanh, 10,000 points, L-BFGS)" ;;
    wave) echo "wave||x=0:1:101 t=0:1:101||3.9e-3 (Wang, Yu & Perdikaris 2022, JCP 449: the authors' notebook PINNsNTK_Wave1D.ipynb prints 3.857674e-03; 3 x 500 tanh, 80,001 Adam steps, NTK weights)" ;;
    helmholtz) echo "helmholtz||x=-1:1:101 y=-1:1:101||unverified (Wang, Teng & Perdikaris 2021, SIAM J. Sci. Comput. 43; 3 x 50 tanh, 40,001 Adam steps, learning-rate annealing)" ;;
    klein_gordon) echo "klein_gordon||x=0:1:101 t=0:1:101||unverified (Wang, Teng & Perdikaris 2021, SIAM J. Sci. Comput. 43; 5 x 50 tanh, 40,001 Adam steps, learning-rate annealing)" ;;
    kovasznay) echo "kovasznay||x=-0.5:1:101 y=-0.5:1.5:101||unverified (Jin, Cai, Li & Karniadakis 2021, JCP 426, VP-NSFnet)" ;;
    lorenz) echo "lorenz||||none found (DeepXDE, Lu et al. 2021, SIAM Rev. 63, plots the constants' convergence only)" ;;
    heat) echo "heat||x=0:1:101 t=0:1:101|$ssb|none for this problem" ;;
    heat_shipped) echo "heat||x=0:1:101 t=0:1:101||(examples/heat.phys as shipped: Adam 3000, L-BFGS 2000)" ;;
    poisson) echo "poisson||x=0:1:101 y=0:1:101|$ssb|none for this problem" ;;
    poisson_shipped) echo "poisson||x=0:1:101 y=0:1:101||(examples/poisson.phys as shipped: Adam 3000, L-BFGS 2000)" ;;
    poisson_hard) echo "poisson_hard||x=0:1:101 y=0:1:101||(examples/poisson_hard.phys as shipped: Adam 2000, L-BFGS 1000)" ;;
    *) echo "unknown problem '$1'" >&2; exit 1 ;;
  esac
}

echo "reference problems; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-13s %11s %9s  %s\n' problem "rel. L2" "train s" "published (source)"
for p in $problems; do
  IFS='|' read -r model opts grid schedule published <<< "$(spec "$p")"
  if [ -n "$schedule" ]; then
    sed "s/^train .*/train $schedule/" "$root/examples/$model.phys" > "$model.phys"
    grep -q "^train $schedule" "$model.phys" || { echo "could not put the schedule into $model.phys" >&2; exit 1; }
  else
    cp "$root/examples/$model.phys" .
  fi
  [ -e "$root/examples/$model.csv" ] && cp "$root/examples/$model.csv" .
  "$build/compiler/physc" "$model.phys" -o "$model"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "./$model" train --threads 2 --quiet --overwrite $opts
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  case $p in
    burgers)
      err=$("./$model" eval $grid | "$build/bench/burgers_exact" | awk '{ print $6 }') ;;
    lorenz)
      err=$("./$model" params | awk '{ v[$1] = $3 } END { want["s"] = 10; want["r"] = 15; want["b"] = 8 / 3; e = 0
              for (k in want) { d = v[k] / want[k] - 1; if (d < 0) d = -d; if (d > e) e = d }
              printf "%.3e # s %.8g r %.8g b %.8g", e, v["s"], v["r"], v["b"] }') ;;
    *)
      err=$("./$model" eval $grid | "$root/bench/reference_error.py" "${model%_hard}") ;;
  esac
  printf '%-13s %11s %9s  %s\n' "$p" "${err%% *}" "$secs" "$published"
  [ "${err#*#}" != "$err" ] && printf '%-13s   (%s)\n' "" "${err#*# }"
done
