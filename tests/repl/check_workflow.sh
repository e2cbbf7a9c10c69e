#!/usr/bin/env bash
# The REPL never loses trained state and scripts fail loudly:
#  1. the default checkpoint follows the file name (cooling2.phys, which
#     still says 'model cooling', loads cooling2.ckpt, not cooling.ckpt),
#     and the REPL says which file it loaded;
#  2. :train on a finished schedule trains more of its last stage from the
#     loaded values (the loss stays near the trained one), says so, and
#     leaves the checkpoint on disk byte for byte; :save writes it, with
#     the steps trained;
#  3. :train on a partly trained model finishes the schedule first;
#  4. a script stops at its first failing entry with exit status 1, and
#     with --keep-going runs the rest, still exiting 1; a clean script
#     exits 0;
#  5. an unclosed bracket at the end of the input is an error at the
#     bracket (exit 1), not a silent end;
#  6. a misspelt declaration keyword gets the parser's suggestion.
set -u
physc=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

cp "$here/models/cooling.phys" cooling.phys
cp cooling.phys cooling2.phys
"$physc" cooling.phys || { bad "compiling cooling.phys"; exit 1; }
./cooling train --quiet --threads 1 || { bad "training"; exit 1; }
sum=$(cksum < cooling.ckpt)

# 1
printf 'kappa\n' | "$physc" repl cooling2.phys > out1 2>&1
if grep -q 'loaded' out1; then
  bad "cooling2.phys took cooling.ckpt: $(cat out1)"
else ok "cooling2.phys does not load cooling.ckpt"; fi
printf 'kappa\n' | "$physc" repl cooling.phys > out1 2>&1
if grep -q '^loaded cooling.ckpt (400 steps trained)$' out1; then ok "cooling.phys loads cooling.ckpt and says so"
else bad "loading cooling.ckpt: $(cat out1)"; fi

# 2
printf 'kappa\n:train 20\nkappa\n' | "$physc" repl cooling.phys > out2 2> err2
status=$?
if [ $status -ne 0 ]; then bad ":train on a finished schedule: exit status $status"; cat err2; fi
if [ "$(cksum < cooling.ckpt)" = "$sum" ]; then ok ":train left cooling.ckpt unchanged"
else bad ":train overwrote cooling.ckpt"; fi
if grep -q 'schedule (400 steps) is complete; training 20 more steps of its last stage (adam)' out2 &&
   grep -q 'trained 20 steps (420 in all); nothing written: :save writes cooling.ckpt' out2; then
  ok ":train says it continues the last stage and wrote nothing"
else bad ":train messages: $(cat out2)"; fi
# The loss after 400 steps is ~1e-6; training from the first stage's fresh
# values would start near 0.26 (the first loss of an untrained model).
loss=$(grep '^trained cooling' err2 | grep -o 'loss [0-9.e+-]*' | awk '{print $2}')
if [ -n "$loss" ] && awk -v l="$loss" 'BEGIN { exit !(l < 1e-2) }'; then ok ":train continued from the loaded values (loss $loss)"
else bad ":train did not start from the loaded values (loss '$loss')"; cat err2; fi
printf ':train 20\n:save\n' | "$physc" repl cooling.phys > out3 2>&1
if grep -q '^saved cooling.ckpt$' out3 && [ "$(cksum < cooling.ckpt)" != "$sum" ] &&
   printf ':quit\n' | "$physc" repl cooling.phys | grep -q '^loaded cooling.ckpt (420 steps trained)$'; then
  ok ":save wrote cooling.ckpt with 420 steps"
else bad ":save: $(cat out3)"; fi

# 3
./cooling train --steps 390 --overwrite --quiet --threads 1 || bad "training 390 steps"
printf ':train 30\n' | "$physc" repl cooling.phys > out4 2> err4
if grep -q 'training 20 more steps of its last stage' out4 && grep -q 'trained 30 steps (420 in all)' out4 &&
   grep -q 'trained cooling: 10 steps' err4; then
  ok ":train finished the schedule (10 steps), then 20 more"
else bad ":train on a partly trained model: $(cat out4 err4)"; fi

# 4
printf 'kappa\nnosuch + 1\nkappa * 2\n:list\n' > script.txt
"$physc" repl cooling.phys < script.txt > out5 2> err5
status=$?
if [ $status -eq 1 ] && [ "$(grep -c . out5)" -eq 2 ] && grep -q "unknown name 'nosuch'" err5 &&
   grep -q 'stopping at entry 2, the first that failed' err5; then
  ok "a script stops at its first failing entry, exit status 1"
else bad "script with an error: status $status; $(cat out5 err5)"; fi
"$physc" repl --keep-going cooling.phys < script.txt > out6 2> err6
status=$?
if [ $status -eq 1 ] && grep -q 'parameter kappa$' out6 && [ "$(grep -c '^[0-9.e-]*$' out6)" -eq 2 ]; then
  ok "--keep-going runs the rest, exit status 1"
else bad "--keep-going: status $status; $(cat out6 err6)"; fi
printf ':train 0\nkappa\n' | "$physc" repl cooling.phys > out7 2> err7
status=$?
if [ $status -eq 1 ] && grep -q ':train takes a number of steps' err7 && ! grep -q '^0\.' out7; then
  ok "a failing command stops the script too"
else bad ":train 0 in a script: status $status; $(cat out7 err7)"; fi
printf 'kappa\n:list\n' | "$physc" repl cooling.phys > /dev/null 2>&1
status=$?
if [ $status -eq 0 ]; then ok "a clean script exits 0"; else bad "a clean script: exit status $status"; fi

# 5
printf 'kappa\nu(0.5, 0.5\nkappa\n:list\n' | "$physc" repl cooling.phys > out8 2> err8
status=$?
if [ $status -eq 1 ] && grep -q "^repl:2:2: error: unexpected end of file: this '(' is never closed" err8 &&
   grep -q '^   \^$' err8; then
  ok "an unclosed bracket at the end of the input is an error at the bracket"
else bad "unclosed bracket: status $status; $(cat err8)"; fi

# 6
printf 'feild v(x) = mlp(hidden = [4])\n' | "$physc" repl cooling.phys > out9 2> err9
status=$?
if [ $status -eq 1 ] && grep -q "^repl:1:1: error: unknown declaration 'feild'; did you mean 'field'?\$" err9; then
  ok "a misspelt declaration keyword in the REPL gets a suggestion"
else bad "misspelt keyword in the REPL: status $status; $(cat err9)"; fi

printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
