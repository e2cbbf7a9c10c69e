#!/usr/bin/python3
"""Relative L2 error of a trained reference problem against its exact
solution (bench/reference.sh). Reads the CSV of './MODEL eval GRID' on
standard input and prints the relative L2 error ||u - u*|| / ||u*|| over
the grid's points, every output column of the field counted together (for
Kovasznay: u, v and p). Also prints each column's error after a '#'.
Usage: ./MODEL eval GRID | reference_error.py PROBLEM
PROBLEM: wave, helmholtz, klein_gordon, kovasznay, heat, poisson."""
import sys

import numpy as np

PI = np.pi


def wave(d):
    x, t = d["x"], d["t"]
    return {"u": np.sin(PI * x) * np.cos(2 * PI * t) + 0.5 * np.sin(4 * PI * x) * np.cos(8 * PI * t)}


def helmholtz(d):
    return {"u": np.sin(PI * d["x"]) * np.sin(4 * PI * d["y"])}


def klein_gordon(d):
    x, t = d["x"], d["t"]
    return {"u": x * np.cos(5 * PI * t) + (x * t) ** 3}


def kovasznay(d):
    x, y, re = d["x"], d["y"], 40.0
    lam = re / 2 - np.sqrt(re ** 2 / 4 + 4 * PI ** 2)
    return {"W_0": 1 - np.exp(lam * x) * np.cos(2 * PI * y),
            "W_1": lam / (2 * PI) * np.exp(lam * x) * np.sin(2 * PI * y),
            "W_2": 0.5 * (1 - np.exp(2 * lam * x))}


def heat(d):
    return {"u": np.exp(-0.1 * PI ** 2 * d["t"]) * np.sin(PI * d["x"])}


def poisson(d):
    return {"u": np.sin(PI * d["x"]) * np.sin(PI * d["y"])}


PROBLEMS = {f.__name__: f for f in (wave, helmholtz, klein_gordon, kovasznay, heat, poisson)}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in PROBLEMS:
        sys.exit("usage: ./MODEL eval GRID | reference_error.py " + "|".join(PROBLEMS))
    d = np.genfromtxt(sys.stdin, delimiter=",", names=True)
    exact = PROBLEMS[sys.argv[1]](d)
    num = sum(np.sum((d[c] - e) ** 2) for c, e in exact.items())
    den = sum(np.sum(e ** 2) for e in exact.values())
    each = " ".join("%s %.2e" % (c, np.linalg.norm(d[c] - e) / np.linalg.norm(e)) for c, e in exact.items())
    print("%.3e # %s" % (np.sqrt(num / den), each))


if __name__ == "__main__":
    main()
