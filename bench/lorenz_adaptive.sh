#!/usr/bin/env bash
# Adaptive loss weights on the Lorenz inverse problem (DeepXDE's setting):
# dx/dt = s (y - x), dy/dt = x (r - z) - y, dz/dt = x y - b z on t in [0, 3]
# from (-8, 7, 27), s, r, b unknown (start 1), 25 observations of x, y, z
# (examples/tools/lorenz_data.py: RK4 with h = 1e-4); examples/lorenz.phys:
# a 3 x 40 tanh network, 400 Sobol points, the default schedule (Adam 1000,
# then ssbroyden). Trains STEPS steps of it with
# the observations' weight 1 ('loss weight obs = 1': every weight fixed), no
# weight line (every weight balanced automatically, the default of
# examples/lorenz.phys), adaptive (grad_norm) and adaptive(rule = annealing)
# for the observations alone, and prints s, r, b, their largest relative
# error, the weight reached and the seconds of training. Outside the test
# suite: a minute or two.
# Usage: bench/lorenz_adaptive.sh [BUILD_DIR] [STEPS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
steps=${2:-2500}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
/usr/bin/python3 "$root/examples/tools/lorenz_data.py" lorenz.csv
model() {   # model NAME WEIGHT_LINE: examples/lorenz.phys named NAME, with WEIGHT_LINE
  { sed "s/^model lorenz\$/model $1/" "$root/examples/lorenz.phys"; echo "$2"; } > "$1.phys"
  grep -q "^model $1\$" "$1.phys" || { echo "could not name the model $1"; exit 1; }
}
echo "Lorenz inverse problem, $steps steps of Adam 1000 + ssbroyden; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %12s %12s %12s %10s %12s %8s\n' "observations' weight" s r b "max error" "weight" seconds
for v in "fixed:loss weight obs = 1" "automatic:" "grad_norm:loss weight obs = adaptive" \
         "annealing:loss weight obs = adaptive(rule = annealing)"; do
  name=${v%%:*} line=${v#*:}
  model "lorenz_$name" "$line"
  "$build/compiler/physc" "lorenz_$name.phys" -o "lorenz_$name"
  "./lorenz_$name" train --threads 2 --steps "$steps" --quiet
  "./lorenz_$name" params | awk -v n="$name" -v h="lorenz_$name.history.csv" '
    { v[$1] = $3 }
    END {
      while ((getline line < h) > 0) last = line
      k = split(last, c, ","); w = n == "fixed" ? 1 : c[k - 1]
      e = 0; split("s r b", p, " "); want["s"] = 10; want["r"] = 15; want["b"] = 8 / 3
      for (i = 1; i <= 3; i++) { d = v[p[i]] / want[p[i]] - 1; if (d < 0) d = -d; if (d > e) e = d }
      printf "%-30s %12.7g %12.7g %12.7g %10.2e %12.6g %8.1f\n", n, v["s"], v["r"], v["b"], e, w, c[k] }'
done
