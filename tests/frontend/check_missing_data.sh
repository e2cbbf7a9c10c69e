#!/usr/bin/env bash
# physc --check warns about every file the compiled program would read that
# is missing, resolved against the model's directory (not the current one):
# file:line:col: warning: ..., the source line and a caret, exit status 0.
# Once the files are there it prints nothing; a model with errors reports
# the errors only (exit status 1).
set -u
physc=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/models" "$work/elsewhere"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
cat > "$work/models/m.phys" <<'PHYS'
model m
domain T: t in [0, 1]
state q, p
dynamics hamiltonian H
field H(q, p) = mlp(hidden = [8], activation = tanh)
data "obs.csv" (q, p, dq, dp):
    ddt(q) == dq, ddt(p) == dp
simulate leapfrog(dt = 0.1, steps = 10) from "start.csv" to "out.csv"
PHYS
cd "$work/elsewhere" || exit 1
out=$("$physc" --check ../models/m.phys 2>&1); status=$?
expected="../models/m.phys:6:6: warning: data file 'obs.csv' not found (looked for ../models/obs.csv)
  data \"obs.csv\" (q, p, dq, dp):
       ^
../models/m.phys:8:46: warning: file of start states 'start.csv' not found (looked for ../models/start.csv)
  simulate leapfrog(dt = 0.1, steps = 10) from \"start.csv\" to \"out.csv\"
                                               ^"
if [ $status -eq 0 ] && [ "$out" = "$expected" ]; then ok "two missing files: two warnings, exit status 0"
else bad "missing files: status $status:"$'\n'"$(diff <(echo "$expected") <(echo "$out"))"; fi
touch obs.csv start.csv # beside the current directory: not where the program looks
out=$("$physc" --check ../models/m.phys 2>&1); status=$?
if [ $status -eq 0 ] && [ "$(grep -c warning <<<"$out")" -eq 2 ]; then ok "files in the current directory do not count"
else bad "files in the current directory: status $status: $out"; fi
touch ../models/obs.csv ../models/start.csv
out=$("$physc" --check ../models/m.phys 2>&1); status=$?
if [ $status -eq 0 ] && [ -z "$out" ]; then ok "with the files beside the model: nothing printed"
else bad "files present: status $status: $out"; fi
rm ../models/obs.csv
sed -i "s|\"start.csv\"|\"$work/models/gone.csv\"|" ../models/m.phys
out=$("$physc" --check ../models/m.phys 2>&1); status=$?
if [ $status -eq 0 ] && grep -q "warning: file of start states '$work/models/gone.csv' not found\$" <<<"$out" &&
   grep -q "warning: data file 'obs.csv' not found" <<<"$out"; then ok "an absolute path is taken as it is"
else bad "absolute path: status $status: $out"; fi
echo 'const bad = nosuch' >> ../models/m.phys
out=$("$physc" --check ../models/m.phys 2>&1); status=$?
if [ $status -eq 1 ] && ! grep -q warning <<<"$out" && grep -q "error: unknown name 'nosuch'" <<<"$out"; then
  ok "a model with errors: the errors only, exit status 1"
else bad "model with errors: status $status: $out"; fi
printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
