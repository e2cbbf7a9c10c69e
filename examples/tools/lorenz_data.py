#!/usr/bin/python3
"""Observations of the Lorenz system for examples/lorenz.phys (DeepXDE's
inverse problem): dx/dt = s (y - x), dy/dt = x (r - z) - y,
dz/dt = x y - b z with s, r, b = 10, 15, 8/3 from (-8, 7, 27), integrated by
RK4 with h = 1e-4 on t in [0, 3]; 25 equally spaced samples of x, y, z,
noise-free. Deterministic (no random numbers): running it again writes the
same file.
Usage: /usr/bin/python3 examples/tools/lorenz_data.py [OUT.csv]"""
import sys

import numpy as np

S, R, B = 10.0, 15.0, 8.0 / 3.0


def rhs(v):
    x, y, z = v
    return np.array([S * (y - x), x * (R - z) - y, x * y - B * z])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "lorenz.csv"
    h, n = 1e-4, 30000
    v = np.array([-8.0, 7.0, 27.0])
    traj = [v]
    for _ in range(n):
        k1 = rhs(v)
        k2 = rhs(v + h / 2 * k1)
        k3 = rhs(v + h / 2 * k2)
        k4 = rhs(v + h * k3)
        v = v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        traj.append(v)
    with open(out, "w") as f:
        f.write("t,xo,yo,zo\n")
        for t in np.linspace(0, 3, 25):
            w = traj[int(round(t / h))]
            f.write("%.10g,%.12g,%.12g,%.12g\n" % (t, w[0], w[1], w[2]))


if __name__ == "__main__":
    main()
