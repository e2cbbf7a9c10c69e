#!/usr/bin/env bash
# Compiles a model with physc, trains it with a fixed seed, and checks the
# trained numbers: recovered constants, error against an exact solution, or
# how far the loss fell.
# Usage: train_example.sh PHYSC MODEL.phys CHECK [STAGES]
#   CHECK: oscillator | heat | poisson | loss-drop
set -u
physc=$1 model=$2 check=$3 stages=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name=$(basename "$model" .phys)
cp "$model" "$work/"
for data in "$(dirname "$model")"/*.csv; do [ -f "$data" ] && cp "$data" "$work/"; done
cd "$work" || exit 1
"$physc" "$name.phys" -o "$name" || { echo "FAIL: physc could not compile $model"; exit 1; }
train=(./"$name" train --seed 0 --threads 1)
[ -n "$stages" ] && train+=(--stages "$stages")

pi=3.141592653589793
case $check in
oscillator)
  "${train[@]}" 2> train.log || { cat train.log; exit 1; }
  tail -n 1 train.log
  ./"$name" params | tee params.txt
  awk -F' = ' '
    $1 == "c" { c = $2 } $1 == "k" { k = $2 }
    END { ec = (c - 0.4) / 0.4; ek = (k - 4.0) / 4.0; if (ec < 0) ec = -ec; if (ek < 0) ek = -ek
          printf "c = %.5f (error %.2f%%), k = %.5f (error %.2f%%); required: within 2%%\n", c, 100 * ec, k, 100 * ek
          exit !(ec <= 0.02 && ek <= 0.02) }' params.txt
  ;;
heat | poisson)
  "${train[@]}" 2> train.log || { cat train.log; exit 1; }
  tail -n 1 train.log
  if [ "$check" = heat ]; then
    ./"$name" eval x=0:1:41 t=0:1:21 > u.csv
    exact="exp(-0.1 * $pi * $pi * \$2) * sin($pi * \$1)"
  else
    ./"$name" eval x=0:1:41 y=0:1:41 > u.csv
    exact="sin($pi * \$1) * sin($pi * \$2)"
  fi
  awk -F, "NR > 1 { e = $exact; d = \$3 - e; s += d * d; r += e * e; n++ }
    END { l2 = sqrt(s / r); printf \"relative L2 error %.3e over %d points; required: <= 1e-2\\n\", l2, n; exit !(n > 0 && l2 <= 1e-2) }" u.csv
  ;;
loss-drop)
  ./"$name" train --steps 0 2> start.log || { cat start.log; exit 1; }
  "${train[@]}" 2> train.log || { cat train.log; exit 1; }
  tail -n 1 train.log
  first=$(grep -o 'loss [0-9.e+-]*' start.log | tail -n 1 | cut -d' ' -f2)
  last=$(grep -o 'loss [0-9.e+-]*' train.log | tail -n 1 | cut -d' ' -f2)
  awk -v a="$first" -v b="$last" 'BEGIN { printf "loss %s -> %s (%.0fx); required: at least 100x\n", a, b, a / b; exit !(b > 0 && a / b >= 100) }'
  ;;
*)
  echo "unknown check $check"; exit 2 ;;
esac
