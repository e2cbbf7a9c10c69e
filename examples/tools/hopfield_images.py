#!/usr/bin/python3
"""Writes the Hopfield example's data, deterministically: four 8 x 8 letter
images (H, O, P, X; F is too close to P for 64 spins) as patterns of +-1 (patterns.csv, header s_0..s_63, row-major
pixels, '#' = +1) and each with 10 % of its pixels flipped (noisy.csv).
Usage: hopfield_images.py [DIR] (default: the examples folder)."""
import os
import random
import sys

LETTERS = {
    "H": ["#......#", "#......#", "#......#", "########", "########", "#......#", "#......#", "#......#"],
    "O": [".######.", "##....##", "#......#", "#......#", "#......#", "#......#", "##....##", ".######."],
    "P": ["#######.", "#......#", "#......#", "#######.", "#.......", "#.......", "#.......", "#......."],
    "X": ["#......#", ".#....#.", "..#..#..", "...##...", "...##...", "..#..#..", ".#....#.", "#......#"],
}

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    rng = random.Random(14)
    header = ",".join("s_%d" % i for i in range(64))
    rows = [[1 if c == "#" else -1 for line in img for c in line] for img in LETTERS.values()]
    with open(os.path.join(out, "patterns.csv"), "w") as f:
        f.write("# letters %s, 8 x 8 pixels row by row, '#' = +1\n" % " ".join(LETTERS))
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")
    with open(os.path.join(out, "noisy.csv"), "w") as f:
        f.write(header + "\n")
        for r in rows:
            noisy = list(r)
            for i in rng.sample(range(64), 6):
                noisy[i] = -noisy[i]
            f.write(",".join(str(v) for v in noisy) + "\n")

if __name__ == "__main__":
    main()
