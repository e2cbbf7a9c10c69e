#!/usr/bin/env bash
# Writes a periodic crystal as extended XYZ (ASE's format) on stdout: the
# start configurations of the particle examples.
#   lattice.sh fcc|diamond|sc|rocksalt N A [DISPLACEMENT [TEMPERATURE [SEED [SPECIES]]]]
# N x N x N conventional cells of edge A; every coordinate displaced by a
# uniform random amount in [-DISPLACEMENT, DISPLACEMENT]; velocities drawn
# from a Gaussian of variance TEMPERATURE / mass per component (TEMPERATURE
# is kB T in the model's energy unit: 0.025852 eV at 300 K in metal units),
# the mean momentum removed so the total momentum is zero. Deterministic
# for a seed. SPECIES is a name (unit masses, no charges), or one
# NAME:MASS:CHARGE per sublattice, comma-separated: the basis is split into
# that many equal parts in order, so rocksalt with "Na:22.98977:1,Cl:35.453:-1"
# is NaCl (and diamond with two, zincblende), and the file gets the columns
# masses and charges.
set -euo pipefail
kind=${1:?fcc, diamond, sc or rocksalt} n=${2:?cells per edge} a=${3:?lattice constant}
disp=${4:-0} temp=${5:-0} seed=${6:-1} species=${7:-X}
awk -v kind="$kind" -v n="$n" -v a="$a" -v disp="$disp" -v temp="$temp" -v seed="$seed" -v sp="$species" '
function gauss() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }
BEGIN {
  srand(seed)
  if (kind == "fcc") { nb = 4; split("0 0 0 0.5 0.5 0 0.5 0 0.5 0 0.5 0.5", b, " ") }
  else if (kind == "diamond") { nb = 8; split("0 0 0 0.5 0.5 0 0.5 0 0.5 0 0.5 0.5 0.25 0.25 0.25 0.75 0.75 0.25 0.75 0.25 0.75 0.25 0.75 0.75", b, " ") }
  else if (kind == "rocksalt") { nb = 8; split("0 0 0 0.5 0.5 0 0.5 0 0.5 0 0.5 0.5 0.5 0 0 0 0.5 0 0 0 0.5 0.5 0.5 0.5", b, " ") }
  else if (kind == "sc") { nb = 1; split("0 0 0", b, " ") }
  else { print "lattice.sh: unknown lattice " kind > "/dev/stderr"; exit 2 }
  ns = split(sp, kinds, ",")
  typed = index(sp, ":") > 0
  for (t = 1; t <= ns; t++) {
    if (split(kinds[t], f, ":") != (typed ? 3 : 1) || nb % ns) {
      print "lattice.sh: SPECIES is NAME or NAME:MASS:CHARGE,... (a number of sublattices dividing " nb ")" > "/dev/stderr"; exit 2
    }
    name[t] = f[1]; mass[t] = typed ? f[2] + 0 : 1; charge[t] = typed ? f[3] + 0 : 0
  }
  m = 0
  for (i = 0; i < n; i++) for (j = 0; j < n; j++) for (k = 0; k < n; k++) for (s = 0; s < nb; s++) {
    t = 1 + int(s * ns / nb); kindof[m] = t
    x[m] = (i + b[3 * s + 1]) * a + disp * (2 * rand() - 1)
    y[m] = (j + b[3 * s + 2]) * a + disp * (2 * rand() - 1)
    z[m] = (k + b[3 * s + 3]) * a + disp * (2 * rand() - 1)
    sd = sqrt(temp / mass[t])
    vx[m] = sd * gauss(); vy[m] = sd * gauss(); vz[m] = sd * gauss()
    px += mass[t] * vx[m]; py += mass[t] * vy[m]; pz += mass[t] * vz[m]; mtot += mass[t]; m++
  }
  L = n * a
  print m
  printf "Lattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" pbc=\"T T T\" Properties=species:S:1:pos:R:3:velo:R:3%s\n", L, L, L,
    typed ? ":masses:R:1:charges:R:1" : ""
  for (i = 0; i < m; i++) {
    t = kindof[i]
    printf "%s %.17g %.17g %.17g %.17g %.17g %.17g", name[t], x[i], y[i], z[i], vx[i] - px / mtot, vy[i] - py / mtot, vz[i] - pz / mtot
    if (typed) printf " %.17g %.17g", mass[t], charge[t]
    printf "\n"
  }
}'
