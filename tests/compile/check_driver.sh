#!/usr/bin/env bash
# The compiler driver's conventions: --emit=llvm|asm|obj, -c, -O levels,
# -o, default output names; examples the back end runs compile, the others
# are refused with a located "not supported yet" error.
set -u
physc=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
cp "$root/examples/heat.phys" .
"$physc" --emit=llvm heat.phys && grep -q '^define' heat.ll && grep -q 'physm_model_get' heat.ll && ok "--emit=llvm writes heat.ll" || bad "--emit=llvm"
"$physc" --emit=asm -O3 heat.phys -o out.s && grep -q 'physm_model_get' out.s && ok "--emit=asm -o out.s" || bad "--emit=asm"
"$physc" -c heat.phys && [ -s heat.o ] && ok "-c writes heat.o" || bad "-c"
for o in -O0 -O1 -O2 -O3; do
  "$physc" $o heat.phys -o heat$o && ./heat$o --help > /dev/null && ok "$o builds a program" || bad "$o"
done
"$physc" heat.phys && [ -x heat ] && ok "default output name heat" || bad "default output name"
for model in oscillator burgers heat poisson poisson_hard spring spring_plain twobody nbody nbody_truth hopfield ising ising20 inverse_ising perceptron argon silicon; do
  "$physc" "$root/examples/$model.phys" -o "ex_$model" 2> err.txt && ok "examples/$model.phys compiles" || { bad "examples/$model.phys"; cat err.txt; }
done
for model in session; do
  "$physc" --stdlib "$root/stdlib" "$root/examples/$model.phys" -o "ex_$model" 2> err.txt
  status=$?
  if [ $status -eq 1 ] && head -n 1 err.txt | grep -qE "^.*$model.phys:[0-9]+:[0-9]+: error: not supported yet: " && [ ! -e "ex_$model" ]; then
    ok "examples/$model.phys refused: $(head -n 1 err.txt | sed 's/.*error: //')"
  else
    bad "examples/$model.phys: status $status, $(head -n 3 err.txt)"
  fi
done
# Dynamics the back end refuses, each with a located error and no program.
refuse() { # NAME EXPECTED-MESSAGE-PART, model text on stdin
  cat > "$1.phys"
  "$physc" "$1.phys" -o "$1" 2> err.txt
  status=$?
  if [ $status -eq 1 ] && head -n 1 err.txt | grep -qE "^$1.phys:[0-9]+:[0-9]+: error: .*$2" && [ ! -e "$1" ]; then
    ok "refused: $(head -n 1 err.txt | sed 's/.*error: //')"
  else
    bad "$1: status $status, $(head -n 3 err.txt)"
  fi
}
refuse leapfrog_explicit "leapfrog needs positions and momenta" <<'EOF'
model m
state q, p
dynamics:
    ddt(q) == p,
    ddt(p) == -q
simulate leapfrog(dt = 0.1, steps = 10) from (q = 1, p = 0)
EOF
refuse missing_column "the dynamics need the value of p here" <<'EOF'
model m
state q, p
field H(q, p) = mlp(hidden = [4])
dynamics hamiltonian H
data "d.csv" (q, dq):
    ddt(q) == dq
EOF
refuse missing_start "the start does not give the state p" <<'EOF'
model m
state q, p
energy H(q, p) = q^2 + p^2
dynamics hamiltonian H
simulate midpoint(dt = 0.1, steps = 10) from (q = 1)
EOF
# ddt() inside the dynamics would define them through themselves (was a
# runaway recursion ending in "more than 128 nested names").
refuse ddt_in_dynamics "ddt\(x\) inside the dynamics" <<'EOF'
model m
state x, y
dynamics: ddt(x) == y, ddt(y) == -ddt(x)
simulate midpoint(dt = 0.1, steps = 10) from (x = 1, y = 2)
EOF
refuse ddt_in_force "ddt\(r\) inside the dynamics" <<'EOF'
model m
particles b[2] with r[1], v[1]
force F(i, j) = ddt(r)[i] * unit(i, j)
dynamics newton(F)
EOF
# A start value that is not a constant (was silently 0), a state given twice
# (the last one won).
refuse start_not_constant "the start value of q must be a constant" <<'EOF'
model m
state q, p
param a = 1
energy H(q, p) = q^2 + p^2
dynamics hamiltonian H
simulate leapfrog(dt = 0.1, steps = 10) from (q = a, p = 0)
EOF
refuse start_twice "the start gives the state q twice" <<'EOF'
model m
state q, p
energy H(q, p) = q^2 + p^2
dynamics hamiltonian H
simulate leapfrog(dt = 0.1, steps = 10) from (q = 1, p = 0, q = 2)
EOF
# grad/laplace/hessian of a field of a vector state took q_0 only.
refuse laplace_vector_state "laplace\(\) of field V, whose input q is a vector state" <<'EOF'
model m
state q[2], p[2]
field V(q) = mlp(hidden = [4])
energy H(q, p) = dot(p, p) / 2 + V(q)
dynamics hamiltonian H
data "obs.csv" (q, p, z): laplace(V) == z
EOF
refuse d2_vector_state "derivatives of order above 1 with respect to the vector state q" <<'EOF'
model m
state q[2], p[2]
field V(q) = mlp(hidden = [4])
energy H(q, p) = dot(p, p) / 2 + V(q)
dynamics hamiltonian H
data "obs.csv" (q, p, z): d(V, q, q) == z
EOF
# An index without a range in a model without particles ran over nothing
# (the sum was silently 0).
refuse sum_no_range "the index i has no range" <<'EOF'
model m
state q[3], p[3]
energy H(q, p) = dot(q, q) + dot(p, p) + sum(i: q[i])
dynamics hamiltonian H
simulate leapfrog(dt = 0.1, steps = 10) from (q = [1, 0, 0], p = [0, 0, 0])
EOF
# An index over a named particle set runs over that set (ran over the first
# set's particles).
printf 'model m\nparticles a[2] with r[1], v[1]\nparticles b[3] with s[1], w[1]\n' > two_sets.phys
[ "$(printf 'sum(i in b: 1)\nsum(i in a: 1)\n' | "$physc" repl two_sets.phys 2>&1 | tr '\n' ' ')" = "3 2 " ] &&
  ok "sum(i in b: ...) runs over the particles of b" || bad "sum over a named particle set"
# The time column of trajectory(t) that is a state (compiled, then no two
# rows of one trajectory); a constant mass that is not positive (0 gave
# infinite accelerations, 1 / 0 a NaN momentum).
refuse trajectory_state_time "the time of trajectory\(t\) cannot be the state q" <<'EOF'
model m
state q, p
field H(q, p) = mlp(hidden = [4])
dynamics hamiltonian H
data "traj.csv" (t, q, p): trajectory(q)
EOF
refuse mass_zero "the mass must be a positive finite number, got 0" <<'EOF'
model m
particles b[2] with r[2], v[2]
force F(i, j) = unit(i, j)
dynamics newton(F, mass = 0)
EOF
# The output of simulate reads back as trajectory(t) data, masses included
# (they were left out of the output).
cat > masses_sim.phys <<'EOF'
model masses_sim
particles b[2] with r[2], v[2], m
force F(i, j) = -dist(i, j) * unit(i, j)
dynamics newton(F, mass = m)
EOF
cat > masses_fit.phys <<'EOF'
model masses_fit
particles b[2] with r[2], v[2], m
field f(s) = mlp(hidden = [4])
force F(i, j) = f(dist(i, j)) * unit(i, j)
dynamics newton(F, mass = m)
data "orbit.csv" (t, r, v, m): trajectory(t)
EOF
printf 'r_0_x,r_0_y,r_1_x,r_1_y,v_0_x,v_0_y,v_1_x,v_1_y,m_0,m_1\n0,0,1,0,0,0.1,0,-0.05,1,2\n' > masses_start.csv
"$physc" masses_sim.phys -o masses_sim && "$physc" masses_fit.phys -o masses_fit &&
  ./masses_sim simulate --dt 0.01 --steps 20 --from masses_start.csv --to orbit.csv > /dev/null &&
  head -n 1 orbit.csv | grep -q ',v_1_y,P_x,P_y,m_0,m_1$' && ./masses_fit train --steps 1 --quiet > /dev/null &&
  ok "simulate writes the masses; its output is trajectory(t) data" || bad "simulate output with masses: $(head -n 1 orbit.csv)"
# conserve claims find the force of newton() in any argument order.
printf 'model m\nparticles b[2] with r[1], v[1], m\nenergy V(b) = sum_pairs(i, j: dist(i, j)^2)\nforce F = -grad(V, r)\ndynamics newton(mass = m, F)\nconserve energy, momentum\n' > mass_first.phys
"$physc" --check mass_first.phys 2> err.txt && ok "newton(mass = m, F) conserves energy and momentum" ||
  bad "mass_first: $(head -n 3 err.txt)"
# A 100,000-term sum in a Hamiltonian lowers (its tree is balanced, so the
# recursive passes over it stay shallow) and its derivative is emitted.
cat > bigsum.phys <<'EOF'
model bigsum
state q, p
energy H(q, p) = sum(i in 100000: sin(q + i) / 100000) + p^2
dynamics hamiltonian H
simulate leapfrog(dt = 0.1, steps = 10) from (q = 0.5, p = 0)
EOF
"$physc" --emit=llvm -O0 bigsum.phys -o bigsum.ll 2> err.txt && grep -q '@dynamics_rhs_residual_f64' bigsum.ll &&
  ok "a 100,000-term sum lowers" || bad "bigsum: $(head -n 3 err.txt)"
PHYSC_RUNTIME=/nonexistent/libphysrt.a "$physc" heat.phys -o nolib 2> err.txt
[ $? -eq 1 ] && grep -q "error: linking" err.txt && ok "a missing runtime library is a named error" || bad "missing runtime library"
printf '%d failed\n' "$fail"
[ $fail -eq 0 ]
