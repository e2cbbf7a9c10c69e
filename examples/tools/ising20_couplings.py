#!/usr/bin/python3
"""Writes ising20_W.csv: the couplings of a known 20-spin model (symmetric,
zero diagonal, W_ij ~ 0.3 N(0, 1) / sqrt(20), seed 20) for the inverse
Ising example. Usage: ising20_couplings.py [DIR]."""
import os
import sys

import numpy as np

n = 20
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
rng = np.random.default_rng(20)
w = np.triu(0.3 * rng.standard_normal((n, n)) / np.sqrt(n), 1)
w = w + w.T
np.savetxt(os.path.join(out, "ising20_W.csv"), w, fmt="%.17g", delimiter=",",
           header=",".join("s_%d" % i for i in range(n)), comments="")
