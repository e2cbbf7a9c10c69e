#!/usr/bin/env bash
# Issue 13: the silicon example, a Behler-Parrinello potential trained on
# Stillinger-Weber frames from Debian's LAMMPS (examples/silicon_*.xyz,
# made by examples/tools/silicon_data.sh). A short schedule (500 Adam
# steps, 60 L-BFGS iterations; the example's own is longer) on the held-out
# frames: energy RMSE <= 3 meV/atom, force RMSE <= 0.1 eV/A; NVE MD of 512
# atoms with a bounded energy drift; bad frames get named errors.
set -u
physc=$1 root=$2
. "$(dirname "$0")/harness.sh"
cp "$root"/examples/silicon.phys "$root"/examples/silicon_*.xyz .
"$physc" silicon.phys -o silicon || { echo "FAIL compile silicon"; exit 1; }
./silicon train --stages 500,60 --threads 2 --quiet > train.txt 2>&1 || bad "train: $(tail -n 3 train.txt)"
./silicon test silicon_test.xyz > test.txt 2>&1 || bad "test: $(cat test.txt)"
read -r e f <<< "$(awk '/^rmse:/ { print $3, $6 }' test.txt)"
if awk -v e="$e" -v f="$f" 'BEGIN { exit !(e <= 3 && f <= 0.1) }'; then ok "held-out frames: energy $e meV/atom, forces $f eV/A"
else bad "held-out frames: energy $e meV/atom (bound 3), forces $f eV/A (bound 0.1)"; fi
[ "$(tail -n 1 test.txt)" = "rmse: energy $e meV/atom, forces $f eV/A" ] && ok "the last line of test is the rmse line" ||
  bad "last line of test: $(tail -n 1 test.txt)"

# the held-out frames as n2p2's input.data: the same errors
awk '/^[0-9]+$/ { n = $1; getline; match($0, /Lattice="[^"]*"/); split(substr($0, RSTART + 9, RLENGTH - 10), L, " ")
    match($0, /energy=[^ ]*/); e = substr($0, RSTART + 7, RLENGTH - 7)
    print "begin"; for (k = 0; k < 3; k++) print "lattice", L[3 * k + 1], L[3 * k + 2], L[3 * k + 3]
    for (i = 0; i < n; i++) { getline; print "atom", $2, $3, $4, $1, 0, 0, $5, $6, $7 }
    print "energy", e; print "end" }' silicon_test.xyz > input.data
./silicon test input.data > n2p2.txt 2>&1 || bad "test input.data: $(cat n2p2.txt)"
[ "$(tail -n 1 n2p2.txt)" = "$(tail -n 1 test.txt)" ] && ok "n2p2 input.data gives the same errors: $(tail -n 1 n2p2.txt)" ||
  bad "input.data: $(tail -n 1 n2p2.txt), extxyz: $(tail -n 1 test.txt)"

# NVE of 512 atoms from the example's start, 1 fs steps
./silicon simulate --steps 300 --every 100 --to md.xyz > md.txt 2>&1 || bad "simulate: $(cat md.txt)"
drift=$(awk '/^energy: max relative drift/ { print $5 }' md.txt)
if awk -v d="$drift" 'BEGIN { exit !(d != "" && d < 1e-4) }'; then ok "NVE, 512 atoms, 300 fs: energy drift $drift"
else bad "NVE energy drift '$drift' (bound 1e-4): $(cat md.txt)"; fi

# bad frames: file:line and what is wrong, exit status 1
head -n 66 silicon_test.xyz > one.xyz
expect() { # description, message pattern, file, command...
  local what=$1 pattern=$2; shift 2
  "$@" > out.txt 2>&1; local status=$?
  if [ $status -ne 0 ] && grep -qE "$pattern" out.txt; then ok "$what: $(grep -E "$pattern" out.txt | head -n 1)"
  else bad "$what: status $status: $(cat out.txt)"; fi
}
head -n 65 one.xyz > fewer.xyz
expect "fewer atom lines than announced" "fewer.xyz:65: error: .*announces 64 atoms" ./silicon test fewer.xyz
sed '3s/^Si/Fe/' one.xyz > fe.xyz
expect "an element the network does not cover" "fe.xyz:3: error: atom 1 is Fe" ./silicon test fe.xyz
sed '4s/ [^ ]*$/ nan/' one.xyz > nan.xyz
expect "NaN" "nan.xyz:4: error: .*nan" ./silicon test nan.xyz
sed '2s/Lattice="[^"]*"/Lattice="10.862 0 0 10.862 0 0 0 0 10.862"/' one.xyz > flat.xyz
expect "a cell of zero volume" "flat.xyz:1: error: .*zero volume" ./silicon test flat.xyz
sed '2s/:forces:R:3//' one.xyz | awk 'NR <= 2 { print; next } { print $1, $2, $3, $4 }' > noforces.xyz
expect "training frames without forces" "noforces.xyz:1: error: the frame has no forces" \
  ./silicon train --data noforces.xyz --steps 1 --checkpoint x.ckpt --quiet
[ $fail -eq 0 ] && echo "silicon: all checks passed" || echo "silicon: $fail check(s) failed"
exit $((fail != 0))
