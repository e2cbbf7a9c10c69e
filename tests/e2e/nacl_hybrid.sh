#!/usr/bin/env bash
# Issue 13: a charged system with the hybrid energy, examples/nacl_hybrid.phys
# (a learned short range within 6 A plus analytic DSF Coulomb within 11 A)
# on NaCl frames from Debian's LAMMPS (examples/nacl_*.xyz, made by
# examples/tools/nacl_data.sh: Tosi-Fumi cut at 6 A + the same DSF).
#   checks (no training, seconds):
#  1. the frames are the analytic model's: Tosi-Fumi (cut and shifted at
#     6 A) + DSF written in the language give LAMMPS's forces to 1e-7 eV/A
#     (LAMMPS's e^2/(4 pi eps0) is 14.399645, ours 14.399645478) and its
#     energies up to one constant per ion, k (erfc(alpha rc)/(2 rc) +
#     alpha/sqrt(pi) exp(-alpha^2 rc^2)): LAMMPS's DSF self term is
#     -(erfc(alpha rc)/rc + alpha/sqrt(pi) (1 + exp(-alpha^2 rc^2))) q^2,
#     the stdlib's Fennell and Gezelter's; a per-element constant, which the
#     networks' biases take up;
#  2. no double counting, with the untrained network: for two ions, and for
#     two charged clusters, further apart than the network's cutoff, the
#     hybrid's energy differences and force differences between placements
#     are the Coulomb term's (numpy, tests/e2e/ionic_reference.py) to
#     round-off, and a lone pair's forces are the Coulomb forces;
#  3. test --write keeps the frames' charges (and every other per-atom
#     column): written and read back, the same energies and forces; n2p2's
#     input.data gives the charges too (the same errors as the extxyz); a
#     frame without charges is a named error;
#  4. simulate takes the networks' elements from the start's species symbols
#     (the same energy as test), an element no network covers is an error.
#   training (label training, under a minute): a short schedule (200 Adam
#   steps, 25 L-BFGS iterations) of the hybrid and of the network alone
#   (V = E(ions), the same descriptor, network and schedule) on the 40
#   training frames; the hybrid's held-out errors at most 5 meV/atom and
#   0.06 eV/A, its force error at most 3/4 of the network alone's; check 2
#   on the trained hybrid, and the network alone missing the Coulomb
#   energy differences beyond its cutoff.
# usage: nacl_hybrid.sh PHYSC ROOT checks|training
set -u
physc=$(realpath "$1") root=$(realpath "$2") mode=${3:-checks}
py=/usr/bin/python3
ref=$root/tests/e2e/ionic_reference.py
k=14.399645478425668 alpha=0.1   # the example's DSF damping, 1/A
. "$(dirname "$0")/harness.sh"
small() { awk -v a="$1" -v t="$2" 'BEGIN { if (a !~ /^[-+0-9.eE]+$/) exit 1; exit !(a <= t && -a <= t) }'; }
rmse_of() { awk '/^rmse:/ { print $3, $6 }' "$1"; }
cp "$root"/examples/nacl_hybrid.phys "$root"/examples/nacl_train.xyz "$root"/examples/nacl_test.xyz "$root"/examples/ionic_start.xyz .
"$physc" nacl_hybrid.phys -o nacl_hybrid || { echo "FAIL compile nacl_hybrid"; exit 1; }

# Configurations in a periodic box of 80 A (no image within the 11 A
# cutoffs: an open cluster to both models and to numpy).
box() { # N, then lines "species x y z charge"
  printf '%s\nLattice="80 0 0 0 80 0 0 0 80" Properties=species:S:1:pos:R:3:charges:R:1 pbc="T T T"\n' "$1"
  cat
}
pair_at() { printf 'Na 20 20 20 1\nCl %s 20 20 -1\n' "$(awk -v d="$1" 'BEGIN { printf "%.17g", 20 + d }')" | box 2; }
clusters_at() { # Na2Cl (+1) at the origin, NaCl2 (-1) shifted by (D, 0.7, -0.4): 6.2 A apart at D = 9
  awk -v d="$1" 'BEGIN { o = 20
    printf "Na %.17g %.17g %.17g 1\nCl %.17g %.17g %.17g -1\nNa %.17g %.17g %.17g 1\n", o, o, o, o + 2.8, o, o, o, o + 2.8, o
    printf "Cl %.17g %.17g %.17g -1\nNa %.17g %.17g %.17g 1\nCl %.17g %.17g %.17g -1\n", o + d, o + 0.7, o - 0.4,
      o + d + 2.8, o + 0.7, o - 0.4, o + d, o + 0.7, o + 2.4 }' | box 6
}
# PROGRAM FILE [OPTIONS]: the model's energy, then its forces, one line per atom
model_values() {
  local prog=$1 file=$2; shift 2
  "./$prog" test "$file" --write "$file.out" "$@" > /dev/null 2> err.txt || { echo "run-failed: $(cat err.txt)"; return; }
  sed -n '2s/.* energy=\([^ ]*\).*/\1/p' "$file.out"
  awk 'NR > 2 { print $(NF - 2), $(NF - 1), $NF }' "$file.out"
}
# PROGRAM DESCRIPTION MAKER D0 D1 D2 ... [-- OPTIONS]: for each placement D against the
# far one D0, (E(D) - E(D0)) and (F(D) - F(D0)) of the model against the Coulomb term's
# (numpy); prints "worst energy difference error, worst force difference error, count"
beyond_cutoff() {
  local prog=$1 maker=$2 far=$3; shift 3
  local places=() opts=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do places+=("$1"); shift; done
  [ $# -gt 0 ] && shift && opts=("$@")
  $maker "$far" > far.xyz
  model_values "$prog" far.xyz "${opts[@]}" > far.model
  "$py" "$ref" far.xyz $alpha 11 $k > far.coul
  local worst_e=0 worst_f=0 n=0
  for d in "${places[@]}"; do
    $maker "$d" > at.xyz
    model_values "$prog" at.xyz "${opts[@]}" > at.model
    "$py" "$ref" at.xyz $alpha 11 $k > at.coul
    read -r we wf <<< "$(paste -d' ' at.model far.model at.coul far.coul | awk '
      NF != 4 && NF != 12 { bad = 1 }
      NR == 1 { de = ($1 - $2) - ($3 - $4); if (de < 0) de = -de }
      NR > 1 { for (c = 1; c <= 3; c++) { d = ($c - $(c + 3)) - ($(c + 6) - $(c + 9)); if (d < 0) d = -d; if (d > df) df = d } }
      END { if (bad || NR < 3) print "unreadable unreadable"; else printf "%.3g %.3g\n", de, df }')"
    worst_e=$(awk -v a="$we" -v w="$worst_e" 'BEGIN { print (a !~ /^[-+0-9.eE]+$/ ? "unreadable" : (w != "unreadable" && a + 0 > w + 0 ? a : w)) }')
    worst_f=$(awk -v a="$wf" -v w="$worst_f" 'BEGIN { print (a !~ /^[-+0-9.eE]+$/ ? "unreadable" : (w != "unreadable" && a + 0 > w + 0 ? a : w)) }')
    n=$((n + 1))
  done
  echo "$worst_e $worst_f $n"
}
check_no_double_counting() { # PROGRAM WHAT [OPTIONS]
  local prog=$1 what=$2; shift 2
  read -r e f n <<< "$(beyond_cutoff "$prog" pair_at 30 6.5 8 10 -- "$@")"
  small "$e" 1e-12 && small "$f" 1e-12 && [ "$n" = 3 ] &&
    ok "$what: Na-Cl at 6.5, 8, 10 A against 30 A: energy differences = DSF Coulomb's to $e eV, forces to $f eV/A" ||
    bad "$what: two ions beyond the network's cutoff: energy differences off by $e, forces by $f ($n placements)"
  read -r e f n <<< "$(beyond_cutoff "$prog" clusters_at 40 9 10.5 13 -- "$@")"
  small "$e" 1e-11 && small "$f" 1e-11 && [ "$n" = 3 ] &&
    ok "$what: Na2Cl+ and NaCl2- more than 6 A apart (3 placements against 40 A): differences = Coulomb's to $e eV, $f eV/A" ||
    bad "$what: two charged clusters beyond the network's cutoff: energy differences off by $e, forces by $f ($n placements)"
  # a lone pair: the forces are the Coulomb forces themselves
  pair_at 8 > lone.xyz
  model_values "$prog" lone.xyz "$@" > lone.model
  "$py" "$ref" lone.xyz $alpha 11 $k > lone.coul
  f=$(paste -d' ' <(tail -n +2 lone.model) <(tail -n +2 lone.coul) |
      awk 'NF != 6 { bad = 1 } { for (c = 1; c <= 3; c++) { d = $c - $(c + 3); if (d < 0) d = -d; if (d > m) m = d } }
           END { if (bad || NR != 2) print "unreadable"; else printf "%.3g", m }')
  small "$f" 1e-14 && ok "$what: forces of Na-Cl at 8 A = the Coulomb forces ($(sed -n 2p lone.coul | cut -d' ' -f1) eV/A along x) to $f" ||
    bad "$what: forces of a lone pair at 8 A against Coulomb: $f"
}

if [ "$mode" = checks ]; then
  # 1. the frames are the analytic model's
  cat > tosi_fumi.phys <<'EOF'
model tosi_fumi
import potentials
particles ions with r[3], v[3], mass m, charge q
let short(r, qi, qj) = if(qi * qj < 0, born_huggins(r, 0.21096, 0.317, 2.755, 6.99055, -8.6757),
                       if(qi > 0, born_huggins(r, 0.2637, 0.317, 2.340, 1.048553, -0.49935),
                                  born_huggins(r, 0.158221, 0.317, 3.170, 75.0544, -150.7325)))
energy V(ions) = sum_pairs(i, j within 6.0: short(dist(i, j), q[i], q[j]) - short(6.0, q[i], q[j]))
    + sum_pairs(i, j within 11.0: coulomb_k_metal * coulomb_dsf(q[i], q[j], dist(i, j), 0.1, 11.0))
    + sum(i: coulomb_k_metal * coulomb_damped_self(q[i], 0.1, 11.0))
force F = -grad(V, r)
dynamics newton(F, mass = m)
EOF
  "$physc" tosi_fumi.phys -o tosi_fumi || bad "compile tosi_fumi"
  self=$("$py" -c "import math; print('%.17g' % ($k * (math.erfc($alpha * 11) / 22 + $alpha / math.sqrt(math.pi) * math.exp(-($alpha * 11) ** 2))))")
  for f in nacl_train.xyz nacl_test.xyz; do
    ./tosi_fumi test $f --write tf.xyz > tf.txt 2>&1 || bad "tosi_fumi test $f: $(cat tf.txt)"
    read -r e fr <<< "$(rmse_of tf.txt)"
    # per frame: (E_LAMMPS - E_model) / n + the constant, the largest over the frames
    dev=$(paste -d' ' <(awk '/^[0-9]+$/ { n = $1; getline; match($0, / energy=[^ ]*/); print n, substr($0, RSTART + 8, RLENGTH - 8) }' $f) \
                      <(awk '/^[0-9]+$/ { getline; match($0, / energy=[^ ]*/); print substr($0, RSTART + 8, RLENGTH - 8) }' tf.xyz) |
          awk -v s="$self" 'NF != 3 { bad = 1 } { d = ($2 - $3) / $1 + s; if (d < 0) d = -d; if (d > m) m = d }
                            END { if (bad || NR < 10) print "unreadable"; else printf "%.3g", m }')
    if small "$dev" 1e-6 && small "$fr" 1e-7; then
      ok "$f: Tosi-Fumi + DSF in the language = LAMMPS: forces rmse $fr eV/A; energies lower by $self eV per ion (the self-term convention) to $dev eV/ion on every frame"
    else bad "$f against the analytic model: energy per ion off the constant $self by up to $dev, forces rmse $fr"; fi
  done

  # 2. no double counting, untrained
  check_no_double_counting nacl_hybrid "untrained hybrid" --untrained

  # 3. test --write keeps the charges; n2p2's charges; frames without charges
  head -n 218 nacl_test.xyz > one.xyz
  ./nacl_hybrid test one.xyz --untrained --write w1.xyz > t1.txt 2>&1 || bad "test --write: $(cat t1.txt)"
  if sed -n 2p w1.xyz | grep -q 'Properties=species:S:1:pos:R:3:charges:R:1:forces:R:3' &&
     [ "$(awk 'NR > 2 { print $1, $5 + 0 }' w1.xyz)" = "$(awk 'NR > 2 { print $1, $5 + 0 }' one.xyz)" ]; then
    ok "test --write keeps the charges column: $(awk 'NR > 2 { n[$5 + 0]++ } END { printf "%d of +1, %d of -1", n[1], n[-1] }' w1.xyz)"
  else bad "test --write: charges not kept: $(sed -n 2p w1.xyz | cut -c 1-160)"; fi
  ./nacl_hybrid test w1.xyz --untrained > t2.txt 2>&1 || bad "test of the written frame: $(cat t2.txt)"
  [ "$(tail -n 1 t2.txt)" = "rmse: energy 0 meV/atom, forces 0 eV/A" ] &&
    ok "the written frame read back: $(tail -n 1 t2.txt)" || bad "the written frame read back: $(tail -n 1 t2.txt)"
  awk '/^[0-9]+$/ { n = $1; getline; match($0, /Lattice="[^"]*"/); split(substr($0, RSTART + 9, RLENGTH - 10), L, " ")
      match($0, /energy=[^ ]*/); e = substr($0, RSTART + 7, RLENGTH - 7)
      print "begin"; for (k = 0; k < 3; k++) print "lattice", L[3 * k + 1], L[3 * k + 2], L[3 * k + 3]
      for (i = 0; i < n; i++) { getline; print "atom", $2, $3, $4, $1, $5, 0, $6, $7, $8 }
      print "energy", e; print "end" }' nacl_test.xyz > input.data
  ./nacl_hybrid test nacl_test.xyz --untrained > x.txt 2>&1 && ./nacl_hybrid test input.data --untrained > n.txt 2>&1 ||
    bad "test on extxyz and input.data: $(cat x.txt n.txt)"
  [ "$(tail -n 1 n.txt)" = "$(tail -n 1 x.txt)" ] && ok "n2p2 input.data (charges in its atom lines): the same errors, $(tail -n 1 n.txt)" ||
    bad "input.data: $(tail -n 1 n.txt), extxyz: $(tail -n 1 x.txt)"
  sed '2s/:charges:R:1//' one.xyz | awk 'NR <= 2 { print; next } { print $1, $2, $3, $4, $6, $7, $8 }' > nocharge.xyz
  ./nacl_hybrid test nocharge.xyz --untrained > nc.txt 2>&1; status=$?
  [ $status -eq 1 ] && grep -q "^nocharge.xyz:1: error: the frame has no charges column" nc.txt &&
    ok "a frame without charges: $(head -n 1 nc.txt)" || bad "a frame without charges: status $status: $(cat nc.txt)"

  # 4. simulate reads the networks' elements from the start's species symbols: its first
  # potential is test's energy of the start (512 ions of examples/ionic_start.xyz)
  ./nacl_hybrid simulate --untrained --steps 1 --dt 1e-12 --to md.xyz --quiet > md.txt 2>&1 || bad "simulate: $(cat md.txt)"
  ./nacl_hybrid test ionic_start.xyz --untrained --write st.xyz > st.txt 2>&1 || bad "test of the start: $(cat st.txt)"
  a=$(sed -n '2s/.*potential=\([^ ]*\).*/\1/p' md.xyz) b=$(sed -n '2s/.* energy=\([^ ]*\).*/\1/p' st.xyz)
  [ -n "$a" ] && [ "$a" = "$b" ] && ok "simulate from ionic_start.xyz (species Na, Cl): first potential $a eV = test's energy" ||
    bad "simulate's first potential '$a' against test's energy '$b'"
  sed '3s/^Na/K/' ionic_start.xyz > k.xyz
  ./nacl_hybrid simulate --untrained --from k.xyz --steps 1 --to k_md.xyz > k.txt 2>&1; status=$?
  [ $status -eq 1 ] && grep -q "^k.xyz:3: error: atom 1 is K, an element the model's networks do not cover (Na, Cl)" k.txt &&
    ok "a start with an element no network covers: $(head -n 1 k.txt)" || bad "a start with K: status $status: $(cat k.txt)"
fi

if [ "$mode" = training ]; then
  awk '/^    \+ sum/ { next } { sub(/^model nacl_hybrid/, "model nacl_net"); print }' nacl_hybrid.phys > nacl_net.phys
  grep -q 'coulomb' nacl_net.phys && bad "the network-alone model still has the Coulomb term"
  "$physc" nacl_net.phys -o nacl_net || bad "compile nacl_net"
  stages=200,25
  start=$(date +%s.%N)
  ./nacl_hybrid train --stages $stages --threads 2 --quiet > th.txt 2>&1 || bad "train the hybrid: $(tail -n 3 th.txt)"
  mid=$(date +%s.%N)
  ./nacl_net train --stages $stages --threads 2 --quiet > tn.txt 2>&1 || bad "train the network alone: $(tail -n 3 tn.txt)"
  end=$(date +%s.%N)
  ./nacl_hybrid test nacl_test.xyz > hh.txt 2>&1 || bad "hybrid test: $(cat hh.txt)"
  ./nacl_net test nacl_test.xyz > hn.txt 2>&1 || bad "network test: $(cat hn.txt)"
  read -r he hf <<< "$(rmse_of hh.txt)"
  read -r ne nf <<< "$(rmse_of hn.txt)"
  times=$(awk -v a="$start" -v b="$mid" -v c="$end" 'BEGIN { printf "%.1f s and %.1f s", b - a, c - b }')
  if awk -v e="$he" -v f="$hf" 'BEGIN { exit !(e != "" && e <= 5 && f <= 0.06) }'; then
    ok "hybrid, $stages steps: held-out energy $he meV/atom, forces $hf eV/A (bounds 5, 0.06)"
  else bad "hybrid held-out: energy $he meV/atom (bound 5), forces $hf eV/A (bound 0.06)"; fi
  if awk -v h="$hf" -v n="$nf" 'BEGIN { exit !(h != "" && n != "" && 4 * h <= 3 * n) }'; then
    ok "network alone, the same schedule: held-out energy $ne meV/atom, forces $nf eV/A (the hybrid's forces at most 3/4 of these; trained in $times)"
  else bad "network alone: held-out forces $nf eV/A against the hybrid's $hf (expected at most 3/4 of it); energy $ne against $he"; fi
  check_no_double_counting nacl_hybrid "trained hybrid"
  # the network alone has nothing beyond its cutoff: it misses the clusters' Coulomb energy differences whole
  read -r e f n <<< "$(beyond_cutoff nacl_net clusters_at 40 9 10.5 13)"
  awk -v e="$e" 'BEGIN { exit !(e ~ /^[-+0-9.eE]+$/ && e > 0.05) }' &&
    ok "network alone: Na2Cl+ and NaCl2- beyond its cutoff: its energy differences miss the Coulomb term's by up to $e eV, forces by $f eV/A" ||
    bad "network alone beyond its cutoff: energy differences off by $e eV (expected the whole Coulomb difference, > 0.05 eV)"
fi

[ $fail -eq 0 ] && echo "nacl_hybrid $mode: all checks passed" || echo "nacl_hybrid $mode: $fail check(s) failed"
exit $((fail != 0))
