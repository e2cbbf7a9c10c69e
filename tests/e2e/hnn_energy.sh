#!/usr/bin/env bash
# The spring experiment (bench/spring_experiment.sh) at a smaller size
# (2 x 64 tanh, 600 Adam steps): rolled out by RK4 from the held-out starts,
# the Hamiltonian network keeps the true energy far better than the plain
# network of the time derivatives. Requires HNN energy MSE <= 1e-3 and at
# least 5 times below the plain network's (measured: 4.2e-5 and 1.2e-3).
# usage: hnn_energy.sh BUILD_DIR ROOT
set -u
build=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table=$(HIDDEN=64 STEPS=600 "$root/bench/spring_experiment.sh" "$build" "$work" 2>&1) || { echo "$table"; echo "FAIL experiment"; exit 1; }
echo "$table" | tail -n 4
hnn=$(awk -F'|' '/^\| HNN/ { gsub(/ /, "", $3); print $3 }' <<<"$table")
plain=$(awk -F'|' '/^\| plain/ { gsub(/ /, "", $3); print $3 }' <<<"$table")
if awk -v h="$hnn" -v p="$plain" 'BEGIN { exit !(h != "" && p != "" && h + 0 <= 1e-3 && p + 0 >= 5 * h) }'; then
  echo "ok   energy MSE: HNN $hnn, plain $plain"
else
  echo "FAIL energy MSE: HNN '$hnn', plain '$plain'"
  exit 1
fi
