#!/usr/bin/env bash
# Burgers (examples/burgers.phys) accuracy against the exact Cole-Hopf
# solution versus wall time, with the example's schedule replaced by ADAM_STEPS
# of Adam and then STAGE (in a copy of the model): trains for at most SECONDS, keeps every
# checkpoint the run writes (every 30 s, the best point so far), then
# prints "seconds since the start of training, relative L2 error, largest
# error" for each on a 256 x 100 grid. Outside the test suite: minutes.
# EDIT (environment) is a further sed script applied to the copy, e.g. adaptive
# weights or sampling (bench/README.md, "Adaptive weights and sampling").
# Usage: [EDIT=SED] bench/burgers_time_to_accuracy.sh BUILD_DIR STAGE SECONDS [ADAM_STEPS]
#   e.g. bench/burgers_time_to_accuracy.sh build 'ssbroyden(steps = 100000)' 600
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
stage=$2 seconds=$3 adam=${4:-1000}
work=$(mktemp -d)
echo "work directory: $work"
cd "$work"
sed -e "s/^train .*/train adam(lr = 1e-3, steps = $adam), $stage/" -e "${EDIT:-}" "$root/examples/burgers.phys" > burgers.phys
grep -q "$stage" burgers.phys || { echo "could not put $stage into the schedule"; exit 1; }
"$build/compiler/physc" burgers.phys -o burgers
echo "schedule: $(grep '^train' burgers.phys); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
timeout "$seconds" ./burgers train --threads 2 > train.log 2>&1 &
pid=$!
last=""
while kill -0 "$pid" 2> /dev/null; do
  if [ -e burgers.ckpt ]; then
    m=$(stat -c %Y burgers.ckpt 2> /dev/null || true)
    if [ -n "$m" ] && [ "$m" != "$last" ]; then
      last=$m
      t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
      cp burgers.ckpt "snap_$t.ckpt"
    fi
  fi
  sleep 1
done
wait "$pid" || true
t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
[ -e burgers.ckpt ] && [ "$(stat -c %Y burgers.ckpt)" != "$last" ] && cp burgers.ckpt "snap_$t.ckpt"
{ grep -v '^step' train.log || true; } | tail -n 3
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "seconds since the start of training: error of that checkpoint"
for f in $(ls snap_*.ckpt | sort -t_ -k2 -n); do
  s=${f#snap_}; s=${s%.ckpt}
  r=$(./burgers eval x=-1:1:256 t=0:1:100 --checkpoint "$f" | "$build/bench/burgers_exact")
  echo "$s s: $r"
done
