#!/usr/bin/python3
"""Writes the perceptron example's files (fixed seed): couplings of 9 spins
(perceptron_couplings.csv: W[8, k] = W[k, 8] = w_k, the output spin s_8
coupled to the inputs s_0..s_7), the field (perceptron_bias.csv: b_8 =
theta), 16 random inputs with the output at -1 (perceptron_inputs.csv), and
4 of them repeated 1000 times each (perceptron_repeats.csv) for the
finite-temperature recall. Usage: perceptron_data.py [DIR]."""
import os
import sys

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
rng = np.random.default_rng(8)
n = 9
w = rng.standard_normal(8) * 0.5
theta = 0.2
W = np.zeros((n, n))
W[8, :8] = W[:8, 8] = w
b = np.zeros((1, n))
b[0, 8] = theta
hdr = ",".join("s_%d" % i for i in range(n))
np.savetxt(os.path.join(out, "perceptron_couplings.csv"), W, fmt="%.17g", delimiter=",", header=hdr, comments="")
np.savetxt(os.path.join(out, "perceptron_bias.csv"), b, fmt="%.17g", delimiter=",", header=hdr, comments="")
x = rng.choice([-1, 1], size=(16, n))
x[:, 8] = -1
np.savetxt(os.path.join(out, "perceptron_inputs.csv"), x, fmt="%d", delimiter=",", header=hdr, comments="")
np.savetxt(os.path.join(out, "perceptron_repeats.csv"), np.repeat(x[:4], 1000, axis=0), fmt="%d", delimiter=",",
           header=hdr, comments="")
