#!/bin/sh
# Prints each row of a spin CSV file as an 8 x 8 picture ('#' = +1):
# show_spins.sh FILE [WIDTH]
w=${2:-8}
grep -v '^#' "$1" | tail -n +2 | awk -F, -v w="$w" '{ for (i = 1; i <= NF; i++) { printf "%s", ($i > 0 ? "#" : "."); if (i % w == 0) printf "\n" } printf "\n" }'
