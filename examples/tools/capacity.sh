#!/usr/bin/env bash
# The Hopfield capacity experiment: for N spins and P = alpha N random
# patterns (alpha from 0.05 to 0.25), recall each of up to ROWS patterns
# from 10 % flipped bits at temperature 0 and print the mean overlap with
# the pattern it started from (the nearest stored one, when recall works).
# The known cliff (Amit, Gutfreund, Sompolinsky) is at alpha = 0.138.
# usage: capacity.sh PHYSC [N ...]   (default N: 200 1000; ROWS=40)
set -eu
physc=$1; shift
sizes=${*:-200 1000}
rows=${ROWS:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "N,alpha,P,mean_overlap"
for n in $sizes; do
  printf 'spins s[%d] in {-1, +1}\ncoupling W = hebbian("patterns.csv")\nenergy E(s) = -0.5 * sum(i, j: W[i, j] * s[i] * s[j])\n' "$n" > hop.phys
  "$physc" hop.phys -o hop
  for alpha in 0.05 0.075 0.1 0.125 0.138 0.15 0.175 0.2 0.25; do
    /usr/bin/python3 - "$n" "$alpha" "$rows" <<'PY'
import sys
import numpy as np
n, alpha, rows = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
p = max(1, round(alpha * n))
rng = np.random.default_rng(1000 * n + p)
pat = rng.choice([-1, 1], size=(p, n))
hdr = ",".join("s_%d" % i for i in range(n))
np.savetxt("patterns.csv", pat, fmt="%d", delimiter=",", header=hdr, comments="")
noisy = pat[:min(p, rows)].copy()
for r in noisy:
    r[rng.choice(n, n // 10, replace=False)] *= -1
np.savetxt("noisy.csv", noisy, fmt="%d", delimiter=",", header=hdr, comments="")
np.savetxt("start.csv", pat[:min(p, rows)], fmt="%d", delimiter=",", header=hdr, comments="")
PY
    ./hop recall --from noisy.csv --to out.csv > /dev/null 2>&1
    q=$(/usr/bin/python3 -c "
import numpy as np
a = np.loadtxt('out.csv', delimiter=',', skiprows=1, ndmin=2); b = np.loadtxt('start.csv', delimiter=',', skiprows=1, ndmin=2)
print('%.4f' % np.mean(np.sum(a * b, axis=1) / a.shape[1]))")
    echo "$n,$alpha,$(awk -v n="$n" -v a="$alpha" 'BEGIN { p = int(a * n + 0.5); print (p < 1 ? 1 : p) }'),$q"
  done
done
