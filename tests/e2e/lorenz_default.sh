#!/usr/bin/env bash
# Defaults that work (issue 15): examples/lorenz.phys, an inverse problem
# with neither a schedule nor a weight, trained by its default schedule
# (Adam 1000, SSBroyden 5000) with the weights balanced automatically,
# recovers s, r, b = 10, 15, 8/3 to 1 % (about 90 s on 2 cores). Also:
# examples/tools/lorenz_data.py writes examples/lorenz.csv again byte for
# byte; --help and the start of training say the weights are balanced; a
# train line, a 'loss weight' line or an inline weight keeps every weight
# fixed.
# Usage: lorenz_default.sh PHYSC SOURCE_DIR
set -u
physc=$1 src=$2
. "$(dirname "$0")/harness.sh"
fail() { echo "FAIL: $*"; exit 1; }

/usr/bin/python3 "$src/examples/tools/lorenz_data.py" lorenz.csv || fail "the data generator failed"
cmp -s lorenz.csv "$src/examples/lorenz.csv" || fail "examples/lorenz.csv is not what tools/lorenz_data.py writes"
cp "$src/examples/lorenz.phys" .

# What turns the balancing off: a schedule, a loss weight line, an inline weight.
"$physc" lorenz.phys -o lorenz || fail "physc could not compile examples/lorenz.phys"
./lorenz --help > help.txt
[ "$(grep -c 'weight balanced automatically (grad_norm, every 100 steps, alpha 0.1)' help.txt)" = 3 ] ||
  { cat help.txt; fail "--help does not say that the three weights are balanced"; }
check_fixed() {   # check_fixed NAME SED: the model edited by SED has every weight fixed
  sed "$2" lorenz.phys > "$1.phys"
  cmp -s "$1.phys" lorenz.phys && fail "$1: the edit did not apply"
  "$physc" "$1.phys" -o "$1" || fail "$1: physc could not compile it"
  "./$1" --help > "$1.txt"
  grep -q "balanced automatically" "$1.txt" && { cat "$1.txt"; fail "$1: weights balanced despite $2"; }
  grep -q "obs: data, weight 1, " "$1.txt" || { cat "$1.txt"; fail "$1: the observations' weight is not 1"; }
}
check_fixed with_train '$a train adam(steps = 10)'
check_fixed with_weight '$a loss weight obs = 1'
check_fixed with_inline 's/^data obs "lorenz.csv" (t, xo, yo, zo):/data obs "lorenz.csv" (t, xo, yo, zo) weight 1:/'

./lorenz train --threads 2 2> train.log || { tail -5 train.log; fail "training failed"; }
grep -q "weights are balanced automatically" train.log || { head -3 train.log; fail "training does not say the weights are balanced"; }
grep -q "obs [0-9.e+-]* (weight [0-9.e+]*, balanced automatically)" train.log ||
  { tail -2 train.log; fail "the summary does not show the balanced weights"; }
tail -2 train.log
./lorenz params > params.txt || fail "params failed"
cat params.txt
awk '{ v[$1] = $3 }
     END { want["s"] = 10; want["r"] = 15; want["b"] = 8 / 3; bad = 0
           for (p in want) { e = v[p] / want[p] - 1; if (e < 0) e = -e
                             printf "%s = %.8g (relative error %.2e)\n", p, v[p], e; if (!(e < 0.01)) bad = 1 }
           exit bad }' params.txt || fail "s, r, b not recovered to 1 %"
echo "PASS"
