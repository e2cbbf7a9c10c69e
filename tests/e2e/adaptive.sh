#!/usr/bin/env bash
# Adaptive loss weights and adaptive sampling from a model file (a second):
# u'' = f on [-1, 1] with u = atan(50 x) (a sharp front at 0), the walls'
# weight adaptive (grad_norm, every 10 steps) and the equation's points
# resampled by RAD every 10 steps. --help names both; the weight changes
# and is shown in the progress line, the summary and a weight_walls column
# of the history; 30 steps then --resume give the rows of 40 steps in one
# run: every weight, and every loss up to step 31 (the loss at the resumed
# position, after its weight update, on the points it resampled; Adam's
# moments restart on a resume, so later losses differ); the checkpoint is
# format 2 with adaptive state and 1 without; the annealing rule with no
# fixed-weight term is refused.
# Usage: adaptive.sh PHYSC
set -u
physc=$1
. "$(dirname "$0")/harness.sh"
fail() { echo "FAIL: $*"; exit 1; }
cat > sharp.phys <<'PHYS'
model sharp
domain D: x in [-1, 1]
const a = 50
field u(x) = mlp(hidden = [16, 16], activation = tanh)
equation pde on D sample 200 adaptive(every = 10, fraction = 0.5):
    d(u, x, x) == -2 * a^3 * x / (1 + a^2 * x^2)^2
boundary walls on D at x = -1 | x = 1 sample 2: u == atan(a * x)
loss weight walls = adaptive(every = 10)
train adam(lr = 1e-2, steps = 40)
PHYS
"$physc" sharp.phys -o sharp || fail "physc could not compile the model"
./sharp --help > help.txt
grep -q "pde: equation, weight 1, 200 uniform points, RAD every 10 steps (fraction 0.5, k 1, c 1, pool 2000)" help.txt ||
  { cat help.txt; fail "--help does not describe the adaptive sampling"; }
grep -q "walls: boundary, weight adaptive (grad_norm, every 10 steps, alpha 0.1)" help.txt ||
  { cat help.txt; fail "--help does not describe the adaptive weight"; }

./sharp train --log-every 1 --threads 2 2> full.log || { cat full.log; fail "training failed"; }
grep -q "walls [0-9.e+-]* (w [0-9.]*)" full.log || { cat full.log; fail "no weight in the progress line"; }
grep -q "walls [0-9.e+-]* (weight [0-9.]*)" full.log || { cat full.log; fail "no weight in the summary"; }
head -1 sharp.history.csv | grep -qx "step,stage,pde,walls,total,lr,weight_walls,elapsed_s" ||
  fail "history header: $(head -1 sharp.history.csv)"
awk -F, 'NR == 2 { w1 = $7 } NR == 41 { w40 = $7 } END { printf "weight_walls: %g at step 1, %g at step 40\n", w1, w40
  exit !(NR == 41 && w1 != 1 && w40 > 2 * w1) }' sharp.history.csv || fail "the weight does not change"
od -An -tu4 -j8 -N4 sharp.ckpt | grep -qw 2 || fail "an adaptive model's checkpoint is not format 2"
cp sharp.history.csv full.csv

rm -f sharp.ckpt sharp.history.csv
./sharp train --steps 30 --log-every 1 --threads 2 --quiet || fail "the first 30 steps failed"
./sharp train --resume --log-every 1 --threads 2 --quiet || fail "the resumed run failed"
cut -d, -f1,7 full.csv > w_full; cut -d, -f1,7 sharp.history.csv > w_resumed
cmp -s w_full w_resumed || { diff w_full w_resumed | head; fail "the resumed run's weights differ"; }
head -32 full.csv | cut -d, -f1-7 > l_full; head -32 sharp.history.csv | cut -d, -f1-7 > l_resumed
cmp -s l_full l_resumed || { diff l_full l_resumed | head; fail "the resumed run's losses up to step 31 differ"; }
echo "resume: weights of steps 1-40 and losses of steps 1-31 identical to one run"

sed -e 's/^loss weight walls.*/loss weight walls = 10/' -e 's/ adaptive(every = 10, fraction = 0.5)//' sharp.phys > fixed.phys
"$physc" fixed.phys -o fixed && ./fixed train --quiet --steps 5 || fail "the fixed model"
od -An -tu4 -j8 -N4 fixed.ckpt | grep -qw 1 || fail "a model without adaptive state writes another format than 1"

sed -e 's/^loss weight walls.*/loss weight walls = adaptive(rule = annealing)\nloss weight pde = adaptive/' \
  sharp.phys > anneal.phys
if "$physc" anneal.phys -o anneal 2> anneal.log; then fail "annealing without a fixed-weight term accepted"; fi
grep -q "error: the annealing rule weighs a term against the terms of fixed weight" anneal.log ||
  { cat anneal.log; fail "annealing without a fixed-weight term: no named error"; }
echo "adaptive: all checks passed"
