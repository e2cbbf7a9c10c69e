#!/usr/bin/env bash
# Invariance of compiled particle models, measured by `./model check-symmetry`
# and checked from outside with `./model test --write`:
#  1. a Behler-Parrinello model (tests/compile/models/atomic_si.phys,
#     untrained weights) and Stillinger-Weber (examples/stillinger_weber.phys)
#     on an open cluster and a perturbed triclinic diamond cell: energies and
#     forces invariant under rotations, reflections, translations and
#     permutations to 1e-10 relative; the net force zero to round-off
#     (1e-12 of the largest force);
#  2. one fixed rotation and translation applied by numpy to the cell: the
#     energy equal and the forces turned, to 1e-10, from `test --write`;
#  3. the cell and its 2x2x2 supercell: energies in the ratio 8 to 1e-10;
#  4. models that are not invariant: an external field 0.05 sum(i: r[i][0])
#     (rotations, reflections, translations), a pair term disp(i, j)[0]^2
#     (rotations and reflections only) and sum_pairs of disp(i, j)[0]
#     (which also depends on the atoms' order: permutations), each reported
#     by name with exit status 1; like atoms are those of one species, so a
#     frame of eight different species has nothing to permute;
#  5. the same figures from two runs (fixed seed), usage errors.
# usage: symmetry.sh PHYSC ROOT
set -u
physc=$(realpath "$1") root=$(realpath "$2")
py=/usr/bin/python3
. "$(dirname "$0")/harness.sh"
# le A B: A <= B, both numbers
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0 && a == a + 0) }'; }

# frames: a cluster of 10 silicon atoms and an 8-atom diamond cell, sheared
# (triclinic) and perturbed; the cell's 2x2x2 supercell; the cell turned
# and moved by a fixed rotation (rotation.txt: R and t); the cell with
# eight different species
$py - <<'EOF' || { echo "FAIL numpy frames"; exit 1; }
import numpy as np
rng = np.random.default_rng(13)
def write(name, species, pos, lattice=None):
    with open(name, "w") as f:
        f.write(f"{len(pos)}\n")
        head = f'Lattice="{" ".join("%.17g" % v for v in lattice.ravel())}" ' if lattice is not None else ""
        pbc = "T T T" if lattice is not None else "F F F"
        f.write(head + f'Properties=species:S:1:pos:R:3 pbc="{pbc}"\n')
        for s, p in zip(species, pos):
            f.write(f"{s} {p[0]:.17g} {p[1]:.17g} {p[2]:.17g}\n")
a = 5.431
basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0],
                  [.25, .25, .25], [.25, .75, .75], [.75, .25, .75], [.75, .75, .25]])
cluster = np.array([[0, 0, 0], [1.36, 1.36, 1.36], [2.72, 2.72, 0], [2.72, 0, 2.72], [0, 2.72, 2.72],
                    [-1.36, -1.36, 1.36], [1.36, -1.36, -1.36], [-1.36, 1.36, -1.36], [4.07, 4.07, 1.36],
                    [4.07, 1.36, 4.07]]) + 0.12 * rng.standard_normal((10, 3))
write("cluster.xyz", ["Si"] * 10, cluster)
h = np.array([[a, 0, 0], [0.45, a, 0], [0.3, -0.25, a]])
cell = basis @ h + 0.1 * rng.standard_normal((8, 3))
write("cell.xyz", ["Si"] * 8, cell, h)
shifts = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)]) @ h
write("supercell.xyz", ["Si"] * 64, np.concatenate([cell + s for s in shifts]), 2 * h)
q, r = np.linalg.qr(rng.standard_normal((3, 3)))
R = q * np.sign(np.diag(r))
if np.linalg.det(R) < 0: R[:, 0] = -R[:, 0]
t = np.array([1.7, -0.9, 2.4])
write("turned.xyz", ["Si"] * 8, cell @ R.T + t, h @ R.T)
np.savetxt("rotation.txt", np.vstack([R, t]))
write("species.xyz", ["Si", "Ge", "C", "Sn", "Pb", "B", "Al", "Ga"], cell, h)
EOF

# the kind's line of check-symmetry's output: "rotation: energy A (relative B),
# forces C (relative D)[, net force E (relative F)]...: ok|VIOLATED"
relatives() { sed -n "s/^$1: .*energy [^ ]* (relative \([^)]*\)), forces [^ ]* (relative \([^)]*\)).*/\1 \2/p" "$2"; }
net_relative() { sed -n 's/^translation: .*net force [^ ]* (relative \([^)]*\)).*/\1/p' "$1"; }

"$physc" "$root/tests/compile/models/atomic_si.phys" -o si > build.log 2>&1 || { cat build.log; bad "physc atomic_si"; }
"$physc" "$root/examples/stillinger_weber.phys" -o sw > build.log 2>&1 || { cat build.log; bad "physc stillinger_weber"; }

# 1. invariance on the cluster and the cell
for prog in si sw; do
  flags=$([ $prog = si ] && echo --untrained)
  for frames in cluster cell; do
    if ./$prog check-symmetry $frames.xyz $flags --trials 6 --threads 2 > $prog.$frames.out 2> $prog.$frames.err; then
      worst=0
      for kind in rotation reflection translation permutation; do
        read -r re rf <<< "$(relatives $kind $prog.$frames.out)"
        if le "${re:-x}" 1e-10 && le "${rf:-x}" 1e-10; then worst=$(awk -v a=$worst -v b=$re -v c=$rf 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; print m }')
        else bad "$prog on $frames.xyz: $kind: relative errors energy ${re:-?}, forces ${rf:-?} (want <= 1e-10)"; fi
      done
      net=$(net_relative $prog.$frames.out)
      if le "${net:-x}" 1e-12; then ok "$prog on $frames.xyz: rotations, reflections, translations, permutations: largest relative error $worst; net force / max force $net"
      else bad "$prog on $frames.xyz: net force / max force ${net:-?} (want <= 1e-12)"; fi
      grep -q '^symmetry: invariant under rotations, reflections, translations and permutations' $prog.$frames.out ||
        bad "$prog on $frames.xyz: no verdict line"
    else
      cat $prog.$frames.out $prog.$frames.err
      bad "$prog check-symmetry $frames.xyz: exit status not 0"
    fi
  done
done

# 2. and 3. from outside: one rotation and translation by numpy, and the
# supercell, through test --write
for prog in si sw; do
  flags=$([ $prog = si ] && echo --untrained)
  for frames in cell turned supercell; do
    ./$prog test $frames.xyz $flags --write $prog.$frames.model.xyz > /dev/null 2> test.err || { cat test.err; bad "$prog test $frames.xyz"; }
  done
  read -r de df ratio net <<< "$($py - $prog <<'EOF'
import sys
import numpy as np
def read(name):
    lines = open(name).read().split("\n")
    n = int(lines[0])
    e = float(lines[1].split("energy=")[1].split()[0])
    rows = np.array([[float(v) for v in l.split()[1:7]] for l in lines[2:2 + n]])
    return e, rows[:, 3:6]
p = sys.argv[1]
e0, f0 = read(p + ".cell.model.xyz")
e1, f1 = read(p + ".turned.model.xyz")
e8, _ = read(p + ".supercell.model.xyz")
R = np.loadtxt("rotation.txt")[:3]
print(abs(e1 - e0) / abs(e0), np.abs(f1 - f0 @ R.T).max() / np.abs(f0).max(), abs(e8 / e0 - 8) / 8,
      np.abs(f0.sum(axis=0)).max() / np.abs(f0).max())
EOF
)"
  if le "${de:-x}" 1e-10 && le "${df:-x}" 1e-10; then ok "$prog: the cell turned and moved by numpy: energy $de, forces $df (relative)"
  else bad "$prog: the cell turned and moved by numpy: relative errors energy ${de:-?}, forces ${df:-?} (want <= 1e-10)"; fi
  if le "${ratio:-x}" 1e-10; then ok "$prog: 2x2x2 supercell: E(supercell) / E(cell) = 8 to $ratio"
  else bad "$prog: 2x2x2 supercell: |E(supercell) / E(cell) / 8 - 1| = ${ratio:-?} (want <= 1e-10)"; fi
  if le "${net:-x}" 1e-12; then ok "$prog: test --write's forces sum to zero: $net of the largest"
  else bad "$prog: test --write's forces sum to ${net:-?} of the largest (want <= 1e-12)"; fi
done
./sw check-symmetry supercell.xyz --trials 2 > sw.super.out 2>&1 || { cat sw.super.out; bad "sw check-symmetry supercell.xyz"; }

# 4. models that are not invariant, from Stillinger-Weber
sw_variant() { # NAME SED-EXPRESSION
  sed -e "s/^model .*/model $1/" -e '/^conserve/d' -e '/^simulate/d' -e "$2" "$root/examples/stillinger_weber.phys" > $1.phys
  "$physc" $1.phys -o $1 > build.log 2>&1 || { cat build.log; bad "physc $1"; }
}
sw_variant external 's/^energy V(atoms) = /energy V(atoms) = 0.05 * sum(i: r[i][0]) + /'
sw_variant tilted 's/^energy V(atoms) = sum_pairs(i, j within rc: phi2(dist(i, j)))/energy V(atoms) = sum_pairs(i, j within rc: phi2(dist(i, j)) + 0.01 * disp(i, j)[0]^2)/'
sw_variant ordered 's/^energy V(atoms) = /energy V(atoms) = 0.01 * sum_pairs(i, j within rc: disp(i, j)[0]) + /'
# expect PROG FRAMES VIOLATED-KINDS...: exit status 1, those kinds VIOLATED
# (and named on stderr), the others ok
expect() {
  local prog=$1 frames=$2
  shift 2
  ./$prog check-symmetry $frames --trials 3 > $prog.out 2> $prog.err
  local rc=$? got=""
  for kind in rotation reflection translation permutation; do
    grep -q "^$kind: .*: VIOLATED$" $prog.out && got="$got $kind"
    grep -q "^$kind: .*: ok$" $prog.out || grep -q "^$kind: .*: VIOLATED$" $prog.out || got="$got ?$kind"
  done
  local named=1
  for kind in "$@"; do grep -q "error: check-symmetry: $frames: the model is not invariant under ${kind}s* " $prog.err || named=0; done
  if [ $rc = 1 ] && [ "$got" = " $*" ] && [ $named = 1 ]; then ok "$prog on $frames: violated:$got (exit status 1, named on stderr)"
  else cat $prog.out $prog.err; bad "$prog on $frames: exit status $rc, violated:$got (want 1,  $*)"; fi
}
expect external cluster.xyz rotation reflection translation
expect external cell.xyz rotation reflection translation
expect tilted cell.xyz rotation reflection
expect ordered cell.xyz rotation reflection permutation
expect ordered species.xyz rotation reflection
grep -q "relative errors: energy [^,]*, forces" external.err || bad "external: the message gives the relative errors"
sed -n '$p' external.out | grep -q '^symmetry: VIOLATED: rotations, reflections, translations$' || { sed -n '$p' external.out; bad "external: verdict line"; }

# 5. deterministic; usage
./sw check-symmetry cell.xyz --trials 6 --threads 2 > again.out 2>&1
cmp -s again.out sw.cell.out && ok "the same figures from a second run" || { diff again.out sw.cell.out; bad "a second run gave other figures"; }
./sw check-symmetry cell.xyz --seed 5 --trials 2 > seed5.out 2>&1 || bad "sw --seed 5"
cmp -s seed5.out sw.cell.out && bad "another seed gave the same figures"
./sw check-symmetry cell.xyz --tolerance 1e-30 > tight.out 2> tight.err
[ $? = 1 ] && grep -q "not invariant under rotations" tight.err && ok "--tolerance 1e-30: round-off reported, exit status 1" ||
  { cat tight.out tight.err; bad "--tolerance 1e-30"; }
usage_fail=$fail
usage() { # WANT-STATUS MESSAGE ARGS...
  local want=$1 msg=$2
  shift 2
  ./sw check-symmetry "$@" > usage.out 2> usage.err
  local rc=$?
  [ $rc = "$want" ] && grep -q -- "$msg" usage.err || { cat usage.err; bad "check-symmetry $*: exit status $rc (want $want, '$msg')"; }
}
usage 2 "which frames" 
usage 2 "trials needs" cell.xyz --trials 0
usage 2 "tolerance needs" cell.xyz --tolerance -1
usage 2 "unknown option" cell.xyz --bogus
usage 1 "cannot" missing.xyz
./si check-symmetry cell.xyz --checkpoint none.ckpt > usage.out 2> usage.err
[ $? = 1 ] && grep -q "none.ckpt" usage.err || { cat usage.err; bad "si without a checkpoint"; }
./sw --help | grep -q "check-symmetry FILE.xyz" || bad "--help names check-symmetry"
[ $fail = "$usage_fail" ] && ok "usage errors named (status 2), a missing file or checkpoint (status 1), --help"

exit $((fail > 0))
