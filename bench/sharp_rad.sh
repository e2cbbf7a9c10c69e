#!/usr/bin/env bash
# Residual-based adaptive sampling on a sharp front: u'' = f on [-1, 1] with
# u = atan(50 x) (the front is 0.04 wide), 2 x 32 tanh, 200 collocation
# points uniform or RAD (adaptive(every = 500, fraction = 0.5): 20 rounds
# over a 2,000-point pool), Adam 10,000 steps (lr 2e-3) then L-BFGS 3,000.
# Prints the relative L2 and largest error against atan(50 x) on 2,001
# points and the seconds of training, for seeds 0, 1, 2. About 30 s.
# Usage: bench/sharp_rad.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "sharp front, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for v in uniform rad; do
  S=$([ $v = rad ] && echo "adaptive(every = 500, fraction = 0.5)" || echo "uniform")
  cat > "s_$v.phys" <<PHYS
model s_$v
domain D: x in [-1, 1]
const a = 50
field u(x) = mlp(hidden = [32, 32], activation = tanh)
equation pde on D sample 200 $S:
    d(u, x, x) == -2 * a^3 * x / (1 + a^2 * x^2)^2
boundary walls on D at x = -1 | x = 1 sample 2: u == atan(a * x)
loss weight walls = 100
train adam(lr = 2e-3, steps = 10000), lbfgs(steps = 3000)
PHYS
  "$build/compiler/physc" "s_$v.phys" -o "s_$v"
done
for seed in 0 1 2; do
  for v in uniform rad; do
    "./s_$v" train --threads 2 --quiet --overwrite --seed "$seed"
    secs=$(tail -1 "s_$v.history.csv" | awk -F, '{ print $NF }')
    "./s_$v" eval x=-1:1:2001 | awk -F, -v v="$v" -v s="$seed" -v t="$secs" '
      NR > 1 { w = atan2(50 * $1, 1); e = $2 - w; a += e * e; b += w * w; if (e < 0) e = -e; if (e > m) m = e }
      END { printf "seed %d %-8s relative L2 %.3e  max error %.3e  %5.1f s\n", s, v, sqrt(a / b), m, t }'
  done
done
