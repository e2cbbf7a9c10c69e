#!/usr/bin/env bash
# Issue 13: NVT by Langevin dynamics (BAOAB). 2000 independent harmonic
# wells (k = 2, m = 3, h = 0.5): the configurational temperature is exact
# for BAOAB, <V> = dof kT / 2 to 1.5 %, and the kinetic one is low by its
# known factor 1 - (omega h / 2)^2; 108 Lennard-Jones argon atoms at 60 K
# reach 60 K within 5 %; the same seed gives the same trajectory, another
# seed another; named errors for a missing temperature and for a model
# without particles (seconds).
set -u
physc=$1 root=$2
. "$(dirname "$0")/harness.sh"
cat > harm.phys <<'PHYS'
model harm
particles atoms with r[3], v[3]
energy V(atoms) = sum(i: 0.5 * 2.0 * dot(r[i], r[i]))
force F = -grad(V, r)
dynamics newton(F, mass = 3.0)
simulate langevin(dt = 0.5, steps = 4000, kT = 0.05, damping = 5, seed = 7) from "h.xyz" to "h_out" every 10
PHYS
awk 'BEGIN { n = 2000; print n; print "Properties=species:S:1:pos:R:3"; for (i = 0; i < n; i++) print "Ar 0 0 0" }' > h.xyz
"$physc" harm.phys -o harm || { echo "FAIL compile harm"; exit 1; }
./harm simulate --threads 1 > h.txt 2>&1 || bad "harmonic langevin: $(cat h.txt)"
awk -F, 'NR > 1 && $1 > 2000 { v += $4; k += $3; n++ }
  END { e = 0.5 * 6000 * 0.05; pv = v / n / e; pk = k / n / e; want = 1 - (sqrt(2 / 3) * 0.5 / 2)^2
        printf "<V>/(dof kT/2) %.4f, <K>/(dof kT/2) %.4f (BAOAB: %.4f)\n", pv, pk, want
        d1 = pv - 1; d2 = pk - want; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2; exit (d1 > 0.015 || d2 > 0.015) }' h_out.csv > ratio.txt &&
  ok "harmonic wells: $(cat ratio.txt)" || bad "harmonic wells: $(cat ratio.txt)"

cp "$root"/examples/argon_lj.phys .
"$physc" --stdlib "$root"/stdlib argon_lj.phys -o argon_lj || { echo "FAIL compile argon_lj"; exit 1; }
head -n 110 "$root"/examples/argon_test.xyz > start.xyz
run() { ./argon_lj simulate --integrator langevin --temperature 60 --dt 0.2 --from start.xyz --threads 1 "$@"; }
run --steps 6000 --every 6000 --to nvt > nvt.txt 2>&1 || bad "argon langevin: $(cat nvt.txt)"
T=$(awk '/^temperature: mean/ { print $3 }' nvt.txt)
awk -v T="$T" 'BEGIN { d = (T - 60) / 60; if (d < 0) d = -d; exit !(T != "" && d < 0.05) }' &&
  ok "argon at 60 K: mean $T K" || bad "argon at 60 K: '$T' K: $(cat nvt.txt)"
run --steps 200 --every 200 --to a --quiet && run --steps 200 --every 200 --to b --quiet &&
  cmp -s a.xyz b.xyz && ok "the same trajectory twice" || bad "two runs differ"
sed 's/seed = 7/seed = 8/' harm.phys > harm8.phys
"$physc" harm8.phys -o harm8 && ./harm8 simulate --threads 1 --steps 10 --quiet --to h8 && ./harm simulate --threads 1 --steps 10 --quiet --to h7 &&
  ! cmp -s h7.xyz h8.xyz && ok "another seed, another trajectory" || bad "seeds 7 and 8 give the same trajectory"

./argon_lj simulate --integrator langevin --dt 0.2 --steps 10 --from start.xyz > e1.txt 2>&1
grep -q "langevin needs a temperature" e1.txt && ok "no temperature: $(head -n 1 e1.txt)" || bad "no temperature: $(cat e1.txt)"
sed 's/kT = 0.05, //' harm.phys > notemp.phys
"$physc" notemp.phys -o notemp > e2.txt 2>&1
grep -q "notemp.phys:6:.*error: langevin takes the temperature" e2.txt && ok "$(head -n 1 e2.txt)" || bad "compile without a temperature: $(cat e2.txt)"
cat > osc.phys <<'PHYS'
model osc
state q, p
let H(q, p) = 0.5 * p^2 + 0.5 * q^2
dynamics hamiltonian H
simulate langevin(dt = 0.1, steps = 10, temperature = 300) from (q = 1, p = 0)
PHYS
"$physc" osc.phys -o osc > e3.txt 2>&1
grep -q "osc.phys:5:.*langevin of other than particles" e3.txt && ok "$(head -n 1 e3.txt)" || bad "langevin without particles: $(cat e3.txt)"
[ "$fail" -eq 0 ] && echo "langevin: all passed" || echo "langevin: $fail failed"
exit $((fail != 0))
