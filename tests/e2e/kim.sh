#!/usr/bin/env bash
# A compiled particle model in Debian's LAMMPS through the KIM API, and as
# a C library (issue 13, "Into the MD ecosystem"):
#  1. physc --kim exports Stillinger-Weber silicon and a Lennard-Jones
#     model; kim-api-collections-management installs both into a user
#     collection under this test's temporary HOME (nothing outside it is
#     touched);
#  2. lmp ('kim init NAME metal', 'kim interactions Si') on 216 atoms of
#     displaced diamond silicon and 500 of a displaced fcc LJ solid, on 1
#     and on 2 MPI processes: energy and per-atom forces equal the compiled
#     program's own (simulate, first frame, on LAMMPS's configuration) to
#     1e-10 relative, and the pressure tensor (the model's virial) equals
#     LAMMPS's own pair_style sw / lj/cut to 1e-10 (per-atom energies add
#     up to the energy; LJ's equal lj/cut's), and so does the
#     potential energy after 50 NVE steps from 1200 K (ghosts and
#     neighbour lists rebuilt at every step);
#  2b. a trained pair network, and a Behler-Parrinello network (atomic(...):
#     symmetry functions, per-atom energies) trained a few Adam steps on
#     Morse frames, checkpoints embedded: energy, forces and per-atom
#     energies equal the compiled program's to 1e-10 on 1 and 2 processes;
#     the BPNN runs 50 NVE steps at 1200 K, the same on 1 and 2 processes
#     (1e-10) and keeping the total energy (1e-5), and warns when atoms'
#     descriptors leave the training range;
#  3. a model KIM cannot run (two particle sets) is refused by name;
#  4. physc --emit=lib: a C program linked against the .so (potential_lib.c)
#     gets the same energy and forces to 1e-10, LAMMPS's stress to 1e-10
#     (for the BPNN: the KIM model's in LAMMPS), the stress equal to
#     central differences of the energy under strain, and forces equal to
#     central differences of its energy; for SW and the BPNN.
# Exits 77 (skipped) when lmp or the KIM API's tools are not installed.
# usage: kim.sh PHYSC ROOT
set -u
physc=$(realpath "$1") root=$(realpath "$2")
for tool in lmp kim-api-collections-management; do
  if ! command -v $tool > /dev/null; then
    echo "SKIP: $tool is not installed (Debian: lammps, libkim-api-dev; scripts/install-deps.sh installs them)"
    exit 77
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# the user collection lives in $HOME/.kim-api; KIM's build goes to TMPDIR
mkdir home tmp
export HOME=$work/home TMPDIR=$work/tmp OMPI_MCA_mpi_yield_when_idle=1
unset KIM_API_CONFIGURATION_FILE KIM_API_PORTABLE_MODELS_DIR KIM_API_MODEL_DRIVERS_DIR KIM_API_SIMULATOR_MODELS_DIR
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
. "$root/tests/e2e/lammps_helpers.sh"
mpi="mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2"
command -v mpirun > /dev/null || bad "mpirun (Debian's openmpi-bin) is not installed: the 2-process checks cannot run"

"$physc" "$root/examples/stillinger_weber.phys" -o sw || bad "compile stillinger_weber"
"$physc" "$root/examples/lj_fluid.phys" -o lj || bad "compile lj_fluid"

# the BPNN: Morse reference frames as bench/bpnn makes them (8 frames of 64
# atoms), 5 Adam steps
cp "$root/tests/e2e/models/bpnn_si.phys" .
{ "$physc" "$root/bench/bpnn/morse_reference.phys" -o morse_reference &&
    /usr/bin/python3 "$root/bench/bpnn/frames.py" 8 2 2718 > positions.xyz &&
    ./morse_reference test positions.xyz --write bpnn_frames.xyz > /dev/null &&
    "$physc" bpnn_si.phys -o bp && ./bp train --quiet; } || bad "Morse frames, compile and train bpnn_si"

pair_sw=$'pair_style sw\npair_coeff * * /usr/share/lammps/potentials/Si.sw Si'
pair_lj=$'pair_style lj/cut 2.5\npair_coeff 1 1 1.0 1.0 2.5'
lattice_sw='lattice diamond 5.431
region box block 0 3 0 3 0 3
create_box 1 box
create_atoms 1 box
mass 1 28.0855
displace_atoms all random 0.1 0.1 0.1 87287 units box'
lattice_lj='lattice fcc 1.6795961913825074
region box block 0 5 0 5 0 5
create_box 1 box
create_atoms 1 box
mass 1 39.948
displace_atoms all random 0.05 0.05 0.05 4928459 units box'
tail_in='compute pe all pe/atom
thermo_style custom step pe pxx pyy pzz pyz pxz pxy
thermo_modify norm no format float %.17g
dump 1 all custom 1 DUMP id x y z fx fy fz c_pe
dump_modify 1 format float %.17g sort id
run 0'
md_in='undump 1
velocity all create 1200 4928459 loop geom
fix 1 all nve
neigh_modify every 1 delay 0 check no
thermo 50
run 50'
# The thermo line of run 0 after 'Step': pe pxx pyy pzz pyz pxz pxy.
thermo() { awk '$1 == "Step" { getline; $1 = ""; print; exit }' "$1"; }
# The potential energy after the 50 NVE steps.
md_pe() { awk '$1 == "Step" { block++ } block == 2 && $1 == 50 { print $2 }' "$1"; }
# max |p - q| / max |q| over two pressure tensors given as "pe pxx ... pxy" lines
tensor_error() {
  awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x); split(b, y)
    for (k = 2; k <= n; k++) { d = x[k] - y[k]; if (d < 0) d = -d; if (d > m) m = d; q = y[k]; if (q < 0) q = -q; if (q > M) M = q }
    printf "%.3g", (M > 0 ? m / M : 1) }'
}
# per-atom energies (dump column 8): "largest difference of dumps $1 and $2
# / largest |value|, |sum over $1 - $3| / |$3|"
atom_energy_errors() {
  paste -d' ' "$1" "$2" | awk -v e="$3" 'NR > 9 { d = $8 - $16; if (d < 0) d = -d; if (d > m) m = d
    q = $16; if (q < 0) q = -q; if (q > M) M = q; s += $8 }
    END { ds = (s - e) / e; printf "%.3g %.3g", (M > 0 ? m / M : 1), (ds < 0 ? -ds : ds) }'
}
# lmp with KIM model $2 (species $3) on lattice $4, run 0 and then $7, on
# $6 processes, against program $5 on the dumped configuration: sets pe,
# de (relative energy error), df (max force error / max force).
run_kim() {
  local tag=$1 name=$2 sp=$3 lattice=$4 prog=$5 np=$6 more=$7 run="lmp"
  [ "$np" = 2 ] && run="$mpi lmp"
  printf 'kim init %s metal\natom_style atomic\n%s\nkim interactions %s\n%s\n%s\n' "$name" "$lattice" "$sp" \
    "${tail_in/DUMP/$tag.kim.dump}" "$more" > $tag.kim.in
  $run -in $tag.kim.in -log none > $tag.kim.out 2>&1 || { bad "$tag: lmp with KIM model $name:"; tail -5 $tag.kim.out; return 1; }
  pe=$(lammps_pe $tag.kim.out)
  dump_to_xyz "$sp" $tag.kim.dump > $tag.xyz
  ./$prog simulate --from $tag.xyz --steps 1 --dt 1e-12 --to $tag.one.xyz --quiet || { bad "$tag: $prog simulate"; return 1; }
  read -r de df <<< "$(errors_against $tag.one.xyz $tag.kim.dump "$pe")"
}
check() { # label kim_name species lattice pair_lines program np same_atom_energies
  local label=$1 name=$2 sp=$3 lattice=$4 pair=$5 prog=$6 np=$7 same=$8 run="lmp"
  [ "$np" = 2 ] && run="$mpi lmp"
  local tag=$label.np$np
  printf 'units metal\natom_style atomic\n%s\n%s\n%s\n%s\n' "$lattice" "$pair" "${tail_in/DUMP/$tag.ref.dump}" \
    "$md_in" > $tag.ref.in
  $run -in $tag.ref.in -log none > $tag.ref.out 2>&1 || { bad "$tag: lmp with its own pair style"; return; }
  run_kim $tag $name $sp "$lattice" $prog $np "$md_in" || return
  local dp dmd
  dp=$(tensor_error "$(thermo $tag.kim.out)" "$(thermo $tag.ref.out)")
  dmd=$(awk -v a="$(md_pe $tag.kim.out)" -v b="$(md_pe $tag.ref.out)" 'BEGIN { if (a == "" || b == "") exit; d = a - b; printf "%.3g", (d < 0 ? -d : d) / (b < 0 ? -b : b) }')
  read -r da ds <<< "$(atom_energy_errors $tag.kim.dump $tag.ref.dump "$pe")"
  [ "$same" = yes ] || da=0
  echo "$label, $(head -1 $tag.xyz) atoms, $np MPI process(es): LAMMPS+KIM E = $pe; against physc: energy $de, max force error / max force $df; pressure tensor against LAMMPS's own: $dp; energy after 50 NVE steps at 1200 K against LAMMPS's own: $dmd; per-atom energies: sum against E $ds$([ "$same" = yes ] && echo ", against LAMMPS's own $da")"
  awk -v e="$de" -v f="$df" -v p="$dp" -v m="$dmd" -v a="$da" -v s="$ds" 'BEGIN { exit !(e != "" && f != "" && p != "" && m != "" && a != "" && s != "" &&
      e + 0 <= 1e-10 && f + 0 <= 1e-10 && p + 0 <= 1e-10 && m + 0 <= 1e-10 && a + 0 <= 1e-10 && s + 0 <= 1e-10) }' &&
    ok "$tag: energy, forces, virial and per-atom energies to 1e-10, and 50 MD steps" || bad "$tag: $de $df $dp $dmd $da $ds"
}
# A sanitizer build's runtime cannot go into a KIM model that lmp loads
# (its ASan runtime would have to come first): then only the library is
# checked, under the sanitizers.
sanitize=
if nm "$("$physc" --version | sed -n 's/^runtime library: //p')" 2> /dev/null | grep -q __asan_report; then
  sanitize="-fsanitize=address,undefined"
  echo "a sanitizer build: the KIM models in LAMMPS are checked by the plain build; the C library here"
else
  # 1. export and install
  export_install() { # NAME SPECIES MODEL
    "$physc" --kim "$1" --kim-species "$2" "$3" -o "$1" || { bad "physc --kim $1"; return; }
    kim-api-collections-management install user "$1" > "$1.install.log" 2>&1 &&
      [ -f "$(find "$HOME/.kim-api" -path "*/$1/libkim-api-portable-model.so" | head -1)" ] &&
      ok "$1: physc --kim, installed into the user collection of $HOME" ||
      { bad "installing $1:"; cat "$1.install.log"; }
  }
  export_install SW_physc Si "$root/examples/stillinger_weber.phys"
  export_install LJ_physc Ar "$root/examples/lj_fluid.phys"

  # 2. LAMMPS through KIM against the compiled program and LAMMPS's own pair styles
  for np in 1 2; do
    # pair_style sw gives a triplet's energy to its three atoms, the KIM model to its centre
    check SW SW_physc Si "$lattice_sw" "$pair_sw" sw $np no
    check LJ LJ_physc Ar "$lattice_lj" "$pair_lj" lj $np yes
  done

  # 2b. a trained network (a pair potential fitted by Adam), its checkpoint
  # embedded: the KIM model without one is refused by name
  cp "$root/tests/e2e/models/learned_pair.phys" .
  "$physc" learned_pair.phys -o lp && ./lp train --quiet || bad "compile and train learned_pair"
  export_install LPnone_physc Ar learned_pair.phys
  printf 'kim init LPnone_physc metal\natom_style atomic\n%s\nkim interactions Ar\nrun 0\n' "$lattice_lj" > lpnone.in
  if ! lmp -in lpnone.in -log none > lpnone.out 2>&1 && grep -q "export it with physc --checkpoint FILE" lpnone.out; then
    ok "a trained model exported without its checkpoint: LAMMPS stops, naming --checkpoint"
  else
    bad "a trained model without its checkpoint was not refused by name:"; tail -3 lpnone.out
  fi
  "$physc" --kim LP_physc --kim-species Ar --checkpoint lp.ckpt learned_pair.phys -o LP_physc &&
    kim-api-collections-management install user LP_physc > LP.install.log 2>&1 || bad "export and install LP_physc"
  "$physc" --kim BP_physc --kim-species Si --checkpoint bp.ckpt bpnn_si.phys -o BP_physc &&
    kim-api-collections-management install user BP_physc > BP.install.log 2>&1 || bad "export and install BP_physc"
  trained() { # tag kim_name species lattice program what
    run_kim $1 $2 $3 "$4" $5 $np "" || return
    read -r _ ds <<< "$(atom_energy_errors $1.kim.dump $1.kim.dump "$pe")"
    echo "$6, $(head -1 $1.xyz) atoms, $np MPI process(es): LAMMPS+KIM E = $pe; against physc: energy $de, max force error / max force $df; per-atom energies: sum against E $ds"
    awk -v e="$de" -v f="$df" -v s="$ds" 'BEGIN { exit !(e != "" && f != "" && s != "" && e + 0 <= 1e-10 && f + 0 <= 1e-10 && s + 0 <= 1e-10) }' &&
      ok "$1: $6: energy, forces and per-atom energies through KIM to 1e-10" || bad "$1: $de $df $ds"
  }
  for np in 1 2; do
    trained LP.np$np LP_physc Ar "$lattice_lj" lp "learned pair network"
    trained BP.np$np BP_physc Si "$lattice_sw" bp "Behler-Parrinello network"
  done
  # 50 NVE steps at 1200 K through the BPNN (ghosts and lists rebuilt every step) from one configuration:
  # the same trajectory on 1 and 2 processes, the total energy kept
  printf 'units metal\natom_style atomic\n%s\nwrite_data bp.data\n' "$lattice_sw" > bpdata.in
  printf 'kim init BP_physc metal\natom_style atomic\nread_data bp.data\nkim interactions Si\n%s\n' \
    "velocity all create 1200 4928459 loop geom
fix 1 all nve
neigh_modify every 1 delay 0 check no
thermo_style custom step pe etotal
thermo_modify norm no format float %.17g
thermo 50
run 50" > bpmd.in
  lmp -in bpdata.in -log none > bpdata.out 2>&1 && lmp -in bpmd.in -log none > bpmd1.out 2>&1 &&
    $mpi lmp -in bpmd.in -log none > bpmd2.out 2>&1 || bad "the BPNN's NVE run in LAMMPS"
  # "pe etotal at step 0, pe etotal at step 50"
  md_lines() { awk '$1 == "Step" { b = 1 } b && $1 == "0" { a = $2 " " $3 } b && $1 == "50" { print a, $2, $3; exit }' "$1"; }
  read -r _ et0 pe1 et1 <<< "$(md_lines bpmd1.out)"
  read -r _ _ pe2 _ <<< "$(md_lines bpmd2.out)"
  read -r dmd drift <<< "$(awk -v a="$pe1" -v b="$pe2" -v e0="$et0" -v e1="$et1" 'BEGIN { if (a == "" || b == "" || e0 == "" || e1 == "") exit
    d = (a - b) / b; t = (e1 - e0) / e0; printf "%.3g %.3g", (d < 0 ? -d : d), (t < 0 ? -t : t) }')"
  echo "Behler-Parrinello network, 216 atoms, 50 NVE steps at 1200 K: potential energy on 2 processes against 1: $dmd; total energy drift $drift"
  awk -v d="$dmd" -v t="$drift" 'BEGIN { exit !(d != "" && t != "" && d + 0 <= 1e-10 && t + 0 <= 1e-5) }' &&
    ok "the BPNN's MD through KIM: 1 and 2 processes agree to 1e-10, total energy kept to 1e-5" || bad "BPNN MD: $dmd $drift"
  # silicon compressed by 10% leaves the training frames' descriptors: LAMMPS's output says so
  printf 'kim init BP_physc metal\natom_style atomic\n%s\nkim interactions Si\nrun 0\n' "${lattice_sw/5.431/4.9}" > bpx.in
  if lmp -in bpx.in -log none > bpx.out 2>&1 && grep -q "warning: atoms' descriptors outside the range" bpx.out &&
    ! grep -q "descriptors outside" BP.np1.kim.out; then
    ok "the BPNN in LAMMPS warns on compressed silicon that it extrapolates (and not on the test's configuration)"
  else
    bad "extrapolation warning of the BPNN in LAMMPS:"; grep -i "warn" bpx.out BP.np1.kim.out | head -3
  fi

  # 3. models that cannot run on a simulator's domains are refused by name
  refused() { # model, what physc must say
    if "$physc" --kim Refused --kim-species X "$1" -o refused 2> refused.err; then
      bad "physc --kim exported $1"
    elif grep -q "$2" refused.err; then
      ok "physc --kim refuses $(basename "$1"): $(sed 's/.*: //' refused.err)"
    else
      bad "physc --kim on $1 does not name the reason:"; cat refused.err
    fi
  }
  refused "$root/tests/e2e/models/mixed_potential.phys" "cannot export the model to KIM: it has more than one particle set"
  refused "$root/tests/e2e/models/pair_cutoff.phys" "it has no potential energy"
  refused "$root/examples/oscillator.phys" "it has no particle system"
fi

# 4. the C library
"$physc" --emit=lib --kim-species Si "$root/examples/stillinger_weber.phys" -o libsw.so || bad "physc --emit=lib"
[ -f physc_potential.h ] || bad "physc --emit=lib wrote no physc_potential.h"
exported=$(nm -D --defined-only libsw.so | awk '{ print $3 }' | grep -vc '^physc_potential_')
[ "$exported" = 0 ] && ok "libsw.so exports the physc_potential_* API only" || bad "libsw.so exports $exported other symbols"
${CC:-cc} -O2 -Wall -Wextra $sanitize -I. "$root/tests/e2e/potential_lib.c" -L. -lsw -lm -Wl,-rpath,"$work" -o potential_lib ||
  bad "compiling potential_lib.c against libsw.so"
printf 'units metal\natom_style atomic\n%s\n%s\n%s\n' "$lattice_sw" "$pair_sw" "${tail_in/DUMP/lib.dump}" > lib.in
lmp -in lib.in -log none > lib.out 2>&1 || bad "lmp with pair_style sw"
dump_to_xyz Si lib.dump > lib.xyz
./sw simulate --from lib.xyz --steps 1 --dt 1e-12 --to lib.one.xyz --quiet || bad "sw simulate"
read -r _ pxx pyy pzz pyz pxz pxy <<< "$(thermo lib.out)"
if ./potential_lib lib.one.xyz $pxx $pyy $pzz $pyz $pxz $pxy; then
  ok "C library: energy, forces and stress to 1e-10, forces = -dE/dr"
else
  bad "C library against the compiled program and LAMMPS"
fi
# the BPNN's library on the same configuration, its stress against the KIM model's in LAMMPS (not in a sanitizer build)
"$physc" --emit=lib --kim-species Si --checkpoint bp.ckpt bpnn_si.phys -o libbp.so || bad "physc --emit=lib bpnn_si"
${CC:-cc} -O2 -Wall -Wextra $sanitize -I. "$root/tests/e2e/potential_lib.c" -L. -lbp -lm -Wl,-rpath,"$work" -o potential_lib_bp ||
  bad "compiling potential_lib.c against libbp.so"
./bp simulate --from lib.xyz --steps 1 --dt 1e-12 --to bplib.one.xyz --quiet || bad "bp simulate"
bp_stress=-
[ -f BP.np1.kim.out ] && bp_stress=$(thermo BP.np1.kim.out | cut -d' ' -f3-)
# shellcheck disable=SC2086 # the six components as six arguments
if ./potential_lib_bp bplib.one.xyz $bp_stress; then
  ok "C library of the BPNN: energy and forces to 1e-10, stress$([ "$bp_stress" != - ] && echo " against LAMMPS+KIM to 1e-10 and") against strain differences, forces = -dE/dr"
else
  bad "C library of the BPNN against the compiled program"
fi

[ $fail -eq 0 ] && echo "all KIM and library checks passed" || echo "$fail KIM/library check(s) failed"
exit $((fail > 0))
