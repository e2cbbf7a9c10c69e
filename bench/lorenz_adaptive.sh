#!/usr/bin/env bash
# Adaptive loss weights on the Lorenz inverse problem (DeepXDE's setting):
# dx/dt = s (y - x), dy/dt = x (r - z) - y, dz/dt = x y - b z on t in [0, 3]
# from (-8, 7, 27), s, r, b unknown (start 1), 25 observations of x, y, z
# (RK4 with h = 1e-4, numpy), 3 x 40 tanh network, 400 Sobol points, the
# default schedule (Adam 1000, then ssbroyden). Trains STEPS steps of it with
# the observations' weight 1 (no loss weight line), adaptive (grad_norm) and
# adaptive(rule = annealing), and prints s, r, b, their largest relative
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
/usr/bin/python3 - <<'PY'
import numpy as np
s, r, b = 10.0, 15.0, 8 / 3
def f(v):
    x, y, z = v
    return np.array([s * (y - x), x * (r - z) - y, x * y - b * z])
h, n = 1e-4, 30000
v, traj = np.array([-8.0, 7.0, 27.0]), [np.array([-8.0, 7.0, 27.0])]
for _ in range(n):
    k1 = f(v); k2 = f(v + h / 2 * k1); k3 = f(v + h / 2 * k2); k4 = f(v + h * k3)
    v = v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    traj.append(v)
with open("lorenz.csv", "w") as out:
    out.write("t,xo,yo,zo\n")
    for t in np.linspace(0, 3, 25):
        w = traj[int(round(t / h))]
        out.write("%.10g,%.12g,%.12g,%.12g\n" % (t, w[0], w[1], w[2]))
PY
model() {   # model NAME WEIGHT_LINE
  cat > "$1.phys" <<PHYS
model $1
domain T: t in [0, 3]
param s = 1.0
param r = 1.0
param b = 1.0
field X(t): vector[3] = mlp(hidden = [40, 40, 40], activation = tanh, outputs = 3)
equation ode on T sample 400 sobol:
    d(X, t)[0] == s * (X[1] - X[0]),
    d(X, t)[1] == X[0] * (r - X[2]) - X[1],
    d(X, t)[2] == X[0] * X[1] - b * X[2]
initial on T at t = 0 sample 1: X[0] == -8, X[1] == 7, X[2] == 27
data obs "lorenz.csv" (t, xo, yo, zo): X(t)[0] == xo, X(t)[1] == yo, X(t)[2] == zo
$2
PHYS
}
echo "Lorenz inverse problem, $steps steps of Adam 1000 + ssbroyden; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %12s %12s %12s %10s %12s %8s\n' "observations' weight" s r b "max error" "weight" seconds
for v in "fixed:" "grad_norm:loss weight obs = adaptive" "annealing:loss weight obs = adaptive(rule = annealing)"; do
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
