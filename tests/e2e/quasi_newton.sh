#!/usr/bin/env bash
# The dense quasi-Newton stages from a model file: a 1-D Poisson problem
# u'' = -pi^2 sin(pi x), u(+-1) = 0 (16 x 16 tanh, 321 parameters), Adam 300
# steps then 300 iterations of ssbroyden, ssbfgs or bfgs (a fraction of a
# second each): relative L2 error against sin(pi x) <= 5e-5 (measured:
# 6.0e-6, 1.5e-6, 1.5e-5; lbfgs in its place: 1.8e-4), the stop reason
# printed; options checked by physc; a model above the dense limit refused
# before training, naming lbfgs; without 'train', Adam then ssbroyden, or
# lbfgs above the dense limit.
# Usage: quasi_newton.sh PHYSC
set -u
physc=$1
. "$(dirname "$0")/harness.sh"
fail() { echo "FAIL: $*"; exit 1; }
model() {   # model NAME HIDDEN STAGE
  cat > "$1.phys" <<PHYS
model $1
domain I: x in [-1, 1]
field u(x) = mlp(hidden = $2, activation = tanh)
equation pde on I sample 200 sobol:
    d(u, x, x) == -pi^2 * sin(pi * x)
boundary ends on I at x = -1 | x = 1 sample 2:
    u == 0
$3
PHYS
}
for method in ssbroyden ssbfgs bfgs; do
  model "p_$method" "[16, 16]" "train adam(lr = 2e-3, steps = 300), $method(steps = 300, tolerance_grad = 0)"
  "$physc" "p_$method.phys" -o "p_$method" || fail "physc could not compile $method"
  ./"p_$method" --help | grep -q "^  $method, 300 iterations (dense, float64)" || fail "--help does not list $method"
  ./"p_$method" train --seed 0 --threads 1 2> train.log || { cat train.log; fail "$method training failed"; }
  grep -q "^$method: 300 iterations, [0-9]* evaluations, [0-9]* restarts, loss .*: stopped: iteration limit reached" \
    train.log || { cat train.log; fail "no end-of-stage line with the stop reason"; }
  grep -q "$method (eval " train.log || fail "the progress line does not name $method"
  ./"p_$method" eval x=-1:1:201 > u.csv
  awk -F, -v m="$method" 'NR > 1 { s = sin(3.141592653589793 * $1); e = $2 - s; a += e * e; b += s * s; n++ }
    END { l2 = sqrt(a / b); printf "%s: relative L2 error %.3e over %d points; required: <= 5e-5\n", m, l2, n
          exit !(n == 201 && l2 <= 5e-5) }' u.csv || fail "$method not accurate enough"
done
# history is an L-BFGS option
model opt "[16, 16]" "train ssbroyden(steps = 10, history = 5)"
"$physc" opt.phys -o opt 2> err.txt && fail "ssbroyden accepted history"
grep -q "error: ssbroyden() has no argument 'history'" err.txt || { cat err.txt; fail "wrong message for history"; }
# 10401 parameters: refused at once, exit status 1
model big "[100, 100]" "train adam(steps = 10), ssbroyden(steps = 10)"
"$physc" big.phys -o big || fail "physc could not compile big"
./big train --threads 1 --quiet 2> err.txt
[ $? -eq 1 ] || fail "a model above the dense limit was not refused with status 1"
grep -q "10401 parameters, which it allows for at most 10000: use lbfgs" err.txt || { cat err.txt; fail "limit message"; }
[ ! -e big.ckpt ] || fail "big.ckpt written"
# the default schedule
model plain "[16, 16]" ""
"$physc" plain.phys -o plain || fail "physc could not compile plain"
./plain --help > help.txt
grep -q "^  adam, 1000 steps, lr 0.001" help.txt && grep -q "^  ssbroyden, 5000 iterations" help.txt ||
  { cat help.txt; fail "the default schedule is not adam then ssbroyden"; }
./plain train --threads 1 --stages 20,30 2> train.log || { cat train.log; fail "default schedule training"; }
grep -q "^ssbroyden: 30 iterations" train.log || { cat train.log; fail "the default dense stage did not run"; }
model bigplain "[100, 100]" ""
"$physc" bigplain.phys -o bigplain || fail "physc could not compile bigplain"
./bigplain train --threads 1 --stages 2,3 2> train.log || { cat train.log; fail "default schedule above the limit"; }
grep -q "^lbfgs: 3 iterations" train.log || { cat train.log; fail "the default dense stage did not run as lbfgs"; }
echo "quasi-Newton stages: ok"
