#!/usr/bin/env python3
"""Positions of torch_bpnn.py's problem as extended XYZ: diamond silicon,
a = 5.431 A, C x C x C conventional cells, periodic, every atom displaced
by N(0, 0.1 A); F frames. Usage: frames.py F C SEED > frames.xyz"""
import random, sys
F, C, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
a = 5.431
base = [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0),
        (.25, .25, .25), (.25, .75, .75), (.75, .25, .75), (.75, .75, .25)]
L = C * a
for f in range(F):
    atoms = [[(b[q] + s[q]) * a + rng.gauss(0, 0.1) for q in range(3)]
             for s in [(i, j, k) for i in range(C) for j in range(C) for k in range(C)] for b in base]
    print(len(atoms))
    print('Lattice="%r 0 0 0 %r 0 0 0 %r" Properties=species:S:1:pos:R:3 pbc="T T T"' % (L, L, L))
    for p in atoms:
        print("Si %.12f %.12f %.12f" % tuple(p))
