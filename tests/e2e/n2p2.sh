#!/usr/bin/env bash
# Issue 13: an n2p2 potential read by 'physc import-n2p2' gives n2p2's
# energies and forces. tests/e2e/n2p2/{tanhu,poly2,gauss} are three potentials of
# our own (make_reference.py: random weights, Si/O with TANHU cutoffs,
# scale+center scaling to [-1, 1], normalisation and atom energies; H/O
# with POLY2 cutoffs and an inner cutoff, sigma scaling, softplus; Si with
# EXP cutoffs, unscaled, Gaussian activations), and
# *_frames.data the configurations (a triclinic periodic cell, an open
# cluster) with the energies and forces of n2p2's nnp-predict (git
# CompPhysVienna/n2p2). Each must agree to 1e-10 relative, through the
# compiled program's test verb and through the C library (--emit=lib);
# the Hessian verb runs on the imported model; the importer's named errors.
set -u
physc=$1 root=$2
. "$(dirname "$0")/harness.sh"
for pot in tanhu poly2 gauss; do
  cp -r "$root/tests/e2e/n2p2/$pot" "$pot.nnp"
  "$physc" import-n2p2 "$pot.nnp" -o "$pot" > /dev/null || { bad "import $pot"; continue; }
  "$physc" "$pot.phys" -o "$pot" || { bad "compile $pot"; continue; }
  ./"$pot" test "$root/tests/e2e/n2p2/${pot}_frames.data" --checkpoint "$pot.ckpt" --write "$pot.xyz" > "$pot.txt" 2>&1 \
    || { bad "test $pot: $(cat "$pot.txt")"; continue; }
  /usr/bin/python3 - "$root/tests/e2e/n2p2/${pot}_frames.data" "$pot.xyz" "$pot" <<'PY' || fail=$((fail + 1))
import re, sys
ref, got, name = sys.argv[1:4]
# n2p2's input.data: atom x y z element charge n fx fy fz; energy E
frames, cur = [], None
for line in open(ref):
    t = line.split()
    if not t: continue
    if t[0] == 'begin': cur = {'f': []}
    elif t[0] == 'atom': cur['f'].append([float(v) for v in t[7:10]])
    elif t[0] == 'energy': cur['e'] = float(t[1])
    elif t[0] == 'end': frames.append(cur)
lines = open(got).read().splitlines()
mine, i = [], 0
while i < len(lines):
    n = int(lines[i]); e = float(re.search(r'energy=(\S+)', lines[i + 1]).group(1))
    # the forces' columns from Properties (name:type:count, in turn)
    props = re.search(r'Properties=(\S+)', lines[i + 1]).group(1).split(':')
    col = 0
    for k in range(0, len(props), 3):
        if props[k] == 'forces': break
        col += int(props[k + 2])
    f = [[float(v) for v in l.split()[col:col + 3]] for l in lines[i + 2:i + 2 + n]]
    mine.append({'e': e, 'f': f}); i += 2 + n
assert len(mine) == len(frames), (len(mine), len(frames))
worst_e = worst_f = 0.0
for a, b in zip(frames, mine):
    worst_e = max(worst_e, abs(a['e'] - b['e']) / abs(a['e']))
    fmax = max(abs(v) for row in a['f'] for v in row)
    for ra, rb in zip(a['f'], b['f']):
        for va, vb in zip(ra, rb):
            worst_f = max(worst_f, abs(va - vb) / max(abs(va), 1e-3 * fmax))
ok = worst_e <= 1e-10 and worst_f <= 1e-10
print('%s %s: %d frames, energies max rel error %.2e, forces %.2e (against nnp-predict)'
      % ('ok  ' if ok else 'FAIL', name, len(frames), worst_e, worst_f))
sys.exit(0 if ok else 1)
PY
done

# the Hessian of the imported potential on the cluster (frames file of one frame)
awk '/comment cluster/{p=1} p&&/^end/{print; exit} p' "$root/tests/e2e/n2p2/tanhu_frames.data" | sed '1i begin' > cluster.data
# (symmetric to round-off; six translations and rotations of the cluster)
if ./tanhu hessian cluster.data --checkpoint tanhu.ckpt > hess.txt 2>&1 &&
   head -n 1 hess.txt | awk '{ for (i = 1; i <= NF; i++) { if ($i == "H^T|") a = $(i + 1); if ($i == "|H|") b = $(i + 1) } }
                             END { exit !(b > 0 && a <= 1e-12 * b) }' &&
   grep -q "6 translations and rotations" hess.txt; then
  ok "hessian of the imported potential: $(head -n 1 hess.txt)"
else
  bad "hessian: $(cat hess.txt)"
fi

# the C library (--emit=lib) carries the imported checkpoint: nnp-predict's
# numbers through physc_potential_compute
# (a sanitizer build's library needs its runtime loaded first into python)
if "$physc" tanhu.phys --emit=lib --kim-species O,Si --checkpoint tanhu.ckpt -o libtanhu.so > lib.txt 2>&1; then
  preload=$(ldd libtanhu.so | awk '/libasan|libubsan/ { printf "%s%s", sep, $3; sep = ":" }')
  LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 \
  /usr/bin/python3 - "$root/tests/e2e/n2p2/tanhu_frames.data" "$PWD/libtanhu.so" <<'PY' || fail=$((fail + 1))
import ctypes, sys
ref, lib = sys.argv[1:3]
so = ctypes.CDLL(lib)
so.physc_potential_create.restype = ctypes.c_void_p
so.physc_potential_compute.argtypes = [ctypes.c_void_p, ctypes.c_int] + [ctypes.c_void_p] * 7
err = ctypes.create_string_buffer(512)
p = so.physc_potential_create(err, 512)
assert p, err.value
code = {'O': 0, 'Si': 1}
frames, cur = [], None
for line in open(ref):
    t = line.split()
    if not t: continue
    if t[0] == 'begin': cur = {'cell': [], 'r': [], 'z': [], 'f': []}
    elif t[0] == 'lattice': cur['cell'] += [float(v) for v in t[1:4]]
    elif t[0] == 'atom':
        cur['r'] += [float(v) for v in t[1:4]]; cur['z'].append(code[t[4]]); cur['f'] += [float(v) for v in t[7:10]]
    elif t[0] == 'energy': cur['e'] = float(t[1])
    elif t[0] == 'end': frames.append(cur)
worst_e = worst_f = 0.0
D = ctypes.c_double
for fr in frames:
    n = len(fr['z'])
    r = (D * (3 * n))(*fr['r']); z = (ctypes.c_int * n)(*fr['z']); f = (D * (3 * n))(); e = D()
    cell = (D * 9)(*fr['cell']) if fr['cell'] else None
    rc = so.physc_potential_compute(p, n, r, z, cell, None, ctypes.byref(e), f, None)
    assert rc == 0, rc
    worst_e = max(worst_e, abs(e.value - fr['e']) / abs(fr['e']))
    fmax = max(abs(v) for v in fr['f'])
    worst_f = max([worst_f] + [abs(a - b) / max(abs(a), 1e-3 * fmax) for a, b in zip(fr['f'], f)])
ok = worst_e <= 1e-10 and worst_f <= 1e-10
print('%s --emit=lib of the imported potential: energies max rel error %.2e, forces %.2e (against nnp-predict)'
      % ('ok  ' if ok else 'FAIL', worst_e, worst_f))
sys.exit(0 if ok else 1)
PY
else
  bad "--emit=lib: $(cat lib.txt)"
fi

# named errors: file:line: error:, status 1
expect() { # description, pattern, directory
  "$physc" import-n2p2 "$3" -o bad > /dev/null 2> err.txt
  status=$?
  if [ $status -eq 1 ] && grep -qE "$2" err.txt; then ok "$1: $(head -n 1 err.txt)"
  else bad "$1: status $status, stderr: $(cat err.txt)"; fi
}
fresh() { rm -rf bad.nnp; cp -r "$root/tests/e2e/n2p2/tanhu" bad.nnp; }
fresh; rm bad.nnp/weights.014.data
expect "missing weights" "bad.nnp/weights.014.data: error: cannot open" bad.nnp
fresh; sed -i '$d' bad.nnp/weights.008.data
expect "too few weights" "bad.nnp/weights.008.data:[0-9]+: error: .*weights, the network of input.nn has" bad.nnp
fresh; echo "  0.5" >> bad.nnp/weights.008.data
expect "too many weights" "bad.nnp/weights.008.data:[0-9]+: error: more than the" bad.nnp
fresh; echo "symfunction_short Si 21 O 0.0 4.0 5.0" >> bad.nnp/input.nn
expect "unsupported type" "bad.nnp/input.nn:[0-9]+: error: symmetry function type 21 is not supported" bad.nnp
fresh; echo "normalize_nodes" >> bad.nnp/input.nn
expect "unsupported keyword" "bad.nnp/input.nn:[0-9]+: error: 'normalize_nodes' is not supported" bad.nnp
fresh; sed -i 's/^global_activation_short.*/global_activation_short t g l/' bad.nnp/input.nn
expect "mixed activations" "bad.nnp/input.nn:[0-9]+: error: hidden layers of different activations" bad.nnp
fresh; sed -i 's/^symfunction_short O 2 Si 0.2 1.2 4.5/symfunction_short O 2 Xx 0.2 1.2 4.5/' bad.nnp/input.nn
expect "unknown element" "bad.nnp/input.nn:[0-9]+: error: neighbour element 'Xx'" bad.nnp
fresh; head -n 5 bad.nnp/scaling.data > s && mv s bad.nnp/scaling.data
expect "short scaling" "bad.nnp/scaling.data:[0-9]+: error: ends at element" bad.nnp
fresh; sed -i '/conv_energy/d' bad.nnp/input.nn
expect "partial normalisation" "bad.nnp/input.nn:[0-9]+: error: normalisation needs all of" bad.nnp
exit $fail
