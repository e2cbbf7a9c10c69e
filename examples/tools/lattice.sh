#!/usr/bin/env bash
# Writes a periodic crystal as extended XYZ (ASE's format) on stdout: the
# start configurations of the particle examples.
#   lattice.sh fcc|diamond|sc N A [DISPLACEMENT [TEMPERATURE [SEED [SPECIES]]]]
# N x N x N conventional cells of edge A; every coordinate displaced by a
# uniform random amount in [-DISPLACEMENT, DISPLACEMENT]; velocities drawn
# from a Gaussian of variance TEMPERATURE per component (unit masses, the
# mean removed so the total momentum is zero). Deterministic for a seed.
set -euo pipefail
kind=${1:?fcc, diamond or sc} n=${2:?cells per edge} a=${3:?lattice constant}
disp=${4:-0} temp=${5:-0} seed=${6:-1} species=${7:-X}
awk -v kind="$kind" -v n="$n" -v a="$a" -v disp="$disp" -v temp="$temp" -v seed="$seed" -v sp="$species" '
function gauss() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }
BEGIN {
  srand(seed)
  if (kind == "fcc") { nb = 4; split("0 0 0 0.5 0.5 0 0.5 0 0.5 0 0.5 0.5", b, " ") }
  else if (kind == "diamond") { nb = 8; split("0 0 0 0.5 0.5 0 0.5 0 0.5 0 0.5 0.5 0.25 0.25 0.25 0.75 0.75 0.25 0.75 0.25 0.75 0.25 0.75 0.75", b, " ") }
  else if (kind == "sc") { nb = 1; split("0 0 0", b, " ") }
  else { print "lattice.sh: unknown lattice " kind > "/dev/stderr"; exit 2 }
  m = 0
  for (i = 0; i < n; i++) for (j = 0; j < n; j++) for (k = 0; k < n; k++) for (s = 0; s < nb; s++) {
    x[m] = (i + b[3 * s + 1]) * a + disp * (2 * rand() - 1)
    y[m] = (j + b[3 * s + 2]) * a + disp * (2 * rand() - 1)
    z[m] = (k + b[3 * s + 3]) * a + disp * (2 * rand() - 1)
    vx[m] = sqrt(temp) * gauss(); vy[m] = sqrt(temp) * gauss(); vz[m] = sqrt(temp) * gauss()
    px += vx[m]; py += vy[m]; pz += vz[m]; m++
  }
  L = n * a
  print m
  printf "Lattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" pbc=\"T T T\" Properties=species:S:1:pos:R:3:velo:R:3\n", L, L, L
  for (i = 0; i < m; i++)
    printf "%s %.17g %.17g %.17g %.17g %.17g %.17g\n", sp, x[i], y[i], z[i], vx[i] - px / m, vy[i] - py / m, vz[i] - pz / m
}'
