#!/usr/bin/env bash
# Installs what physc needs on Debian 12 (bookworm) and is not yet there.
# Uses sudo when not run as root.
set -euo pipefail
packages=(build-essential cmake flex bison llvm-19-dev libedit-dev gnuplot-nox python3-numpy openmpi-bin libopenmpi-dev lammps lammps-data libkim-api-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: everything is installed"
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q "${missing[@]}"
