#!/usr/bin/python3
"""Energy and forces of a periodic ion configuration, computed directly
(numpy, every image within the cutoff) for tests/e2e/longrange.sh:
damped shifted force Coulomb (Fennell & Gezelter 2006) with its self term,
plus, with --born, the Tosi-Fumi Born-Mayer-Huggins repulsion of
examples/ionic.phys. The pair energy and its radial derivative are written
out here by hand, not taken from physc's stdlib.
usage: ionic_reference.py FILE.xyz ALPHA RC K [--born]
prints: the energy, then one line of force per atom"""
import math
import sys

import numpy as np

# Tosi-Fumi NaCl (A eV, rho A, sigma A, C eV A^6, D eV A^8), keyed by charge sign pair
BORN = {(1, 1): (0.2637, 0.317, 2.340, 1.048553, -0.49935),
        (1, -1): (0.21096, 0.317, 2.755, 6.99055, -8.6757),
        (-1, -1): (0.158221, 0.317, 3.170, 75.0544, -150.7325)}


def read_xyz(path):
    lines = open(path).read().splitlines()
    n = int(lines[0])
    head = lines[1]
    lat = head.split('Lattice="')[1].split('"')[0].split()
    cell = np.array([float(v) for v in lat]).reshape(3, 3)
    props = head.split("Properties=")[1].split()[0].split(":")
    cols, c = {}, 0
    for k in range(0, len(props), 3):
        cols[props[k]] = (c, int(props[k + 2]))
        c += int(props[k + 2])
    rows = [l.split() for l in lines[2:2 + n]]
    def column(name):
        start, width = cols[name]
        return np.array([[float(r[start + w]) for w in range(width)] for r in rows])
    return cell, column("pos"), column("charges")[:, 0]


def main():
    path, alpha, rc, k = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    born = "--born" in sys.argv[5:]
    cell, pos, q = read_xyz(path)
    n = len(q)
    erfc_rc = math.erfc(alpha * rc)
    # d/dr of erfc(alpha r)/r at rc: the shift that takes the force to zero
    slope = erfc_rc / rc**2 + 2 * alpha / math.sqrt(math.pi) * math.exp(-(alpha * rc) ** 2) / rc
    reach = [int(math.ceil(rc / np.linalg.norm(cell[a]))) + 1 for a in range(3)]
    shifts = np.array([i * cell[0] + j * cell[1] + l * cell[2]
                       for i in range(-reach[0], reach[0] + 1)
                       for j in range(-reach[1], reach[1] + 1)
                       for l in range(-reach[2], reach[2] + 1)])
    energy = -(erfc_rc / (2 * rc) + alpha / math.sqrt(math.pi)) * k * float(np.sum(q * q))
    forces = np.zeros((n, 3))
    for i in range(n):
        d = pos[i] - pos[None, :, :] + shifts[:, None, :]     # images x atoms x 3: r_i - (r_j - shift)
        r = np.sqrt(np.sum(d * d, axis=2))
        mask = (r < rc) & (r > 0)
        for s, j in zip(*np.nonzero(mask)):
            x = r[s, j]
            qq = k * q[i] * q[j]
            e = qq * (math.erfc(alpha * x) / x - erfc_rc / rc + slope * (x - rc))
            dedr = qq * (-math.erfc(alpha * x) / x**2
                         - 2 * alpha / math.sqrt(math.pi) * math.exp(-(alpha * x) ** 2) / x + slope)
            if born:
                a, rho, sigma, c6, d8 = BORN[(int(np.sign(q[i])), int(np.sign(q[j])))] \
                    if q[i] >= q[j] else BORN[(int(np.sign(q[j])), int(np.sign(q[i])))]
                rep = a * math.exp((sigma - x) / rho)
                e += rep - c6 / x**6 + d8 / x**8
                dedr += -rep / rho + 6 * c6 / x**7 - 8 * d8 / x**9
            energy += 0.5 * e                                  # each pair is met from both ends
            forces[i] -= dedr * d[s, j] / x
    print("%.17g" % energy)
    for f in forces:
        print("%.17g %.17g %.17g" % tuple(f))


main()
