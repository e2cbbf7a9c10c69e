#!/usr/bin/python3
"""Writes two n2p2 potentials of our own (random weights, fixed seeds) and
their test configurations, then runs n2p2's nnp-predict on each
configuration and stores its energies and forces as the golden numbers
(frames.data: n2p2's input.data with nnp-predict's energy and forces).

    make_reference.py NNP_PREDICT OUTDIR

NNP_PREDICT is n2p2's nnp-predict (github.com/CompPhysVienna/n2p2, GPL: used
as a program only, nothing of it is in this repository), built with g++ and
Debian's libeigen3-dev from its src/: every libnnp/*.cpp compiled with
`g++ -O2 -std=c++11 -I/usr/include/eigen3 -Ilibnnp -c`, then
application/nnp-predict.cpp linked with those objects. The files in this
directory are what it wrote (OUTDIR = tests/e2e/n2p2).

Potential 'tanhu': Si and O, cutoff_type 2 (TANHU), symmetry functions
of types 2, 3 and 9 with cutoffs of their own, scale + center scaling to
[-1, 1], normalisation (mean_energy, conv_energy, conv_length) and
atom_energy, activations t t l.
Potential 'poly2': H and O, cutoff_type 6 (POLY2) with alpha 0.2, sigma
scaling, activations p p l (softplus), one hidden layer shape per element
from the same global_nodes_short.
Potential 'gauss': Si alone, cutoff_type 4 (EXP) with alpha 0.1, no
scaling, activations g g l (Gaussian).
The configurations: a triclinic periodic cell and an open cluster each.
"""
import os, subprocess, sys
import numpy as np

nnp_predict, outdir = sys.argv[1], sys.argv[2]
Z = {'H': 1, 'O': 8, 'Si': 14}

def potential(name, elements, sfs, cutoff, scaling, hidden, act, extra, seed):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    with open(os.path.join(d, 'input.nn'), 'w') as f:
        f.write('# an n2p2 potential written by physc tests/e2e/n2p2/make_reference.py\n')
        f.write('number_of_elements %d\nelements %s\n' % (len(elements), ' '.join(elements)))
        f.write('cutoff_type %s\n' % cutoff)
        f.write(scaling + '\n' + extra)
        f.write('global_hidden_layers_short %d\nglobal_nodes_short %s\nglobal_activation_short %s\n'
                % (len(hidden), ' '.join(map(str, hidden)), act))
        f.write('random_seed 12345\nepochs 10\n')   # training keywords: ignored by prediction
        for line in sfs:
            f.write('symfunction_short ' + line + '\n')
    # n2p2's order of each element's functions: type, rc, eta, rs, zeta, lambda, neighbours
    order = sorted(elements, key=lambda e: Z[e])
    with open(os.path.join(d, 'scaling.data'), 'w') as f:
        f.write('# scaling statistics (made up, consistent): element sf min max mean sigma\n')
        for ie, e in enumerate(order):
            n = sum(1 for l in sfs if l.split()[0] == e)
            for k in range(n):
                lo = rng.uniform(0, 0.5); hi = lo + rng.uniform(0.5, 3.0)
                mean = rng.uniform(lo, hi); sigma = rng.uniform(0.1, 0.6) * (hi - lo)
                f.write('%4d %4d %.10e %.10e %.10e %.10e\n' % (ie + 1, k + 1, lo, hi, mean, sigma))
            count = 0
            width = n
            for h in hidden + [1]:
                count += width * h + h
                width = h
            w = rng.normal(0, 0.5, count)
            with open(os.path.join(d, 'weights.%03d.data' % Z[e]), 'w') as g:
                g.write('# random weights, n2p2 order\n')
                for v in w:
                    g.write('%24.16e\n' % v)
    return d

def configs(elements, seed, cell_len, n_cell, n_cluster, dmin):
    rng = np.random.default_rng(seed)
    def place(n, box, periodic, cell):
        pos = []
        while len(pos) < n:
            x = rng.uniform(0, 1, 3) @ cell if periodic else rng.uniform(-box / 2, box / 2, 3)
            ok = True
            for p in pos:
                dv = x - p
                if periodic:
                    fr = np.linalg.solve(cell.T, dv)
                    fr -= np.round(fr)
                    dv = fr @ cell
                if np.linalg.norm(dv) < dmin:
                    ok = False
            if ok:
                pos.append(x)
        return np.array(pos)
    cell = np.array([[cell_len, 0, 0], [0.9, cell_len * 0.95, 0], [-0.6, 0.7, cell_len * 1.05]])
    out = []
    p = place(n_cell, None, True, cell)
    out.append(('periodic', cell, p, [elements[i % len(elements)] for i in range(n_cell)]))
    p = place(n_cluster, 4.5, False, None)
    out.append(('cluster', None, p, [elements[(i + 1) % len(elements)] for i in range(n_cluster)]))
    return out

def predict(d, cfg):
    name, cell, pos, el = cfg
    with open(os.path.join(d, 'input.data'), 'w') as f:
        f.write('begin\ncomment %s\n' % name)
        if cell is not None:
            for v in cell:
                f.write('lattice %.17g %.17g %.17g\n' % tuple(v))
        for x, e in zip(pos, el):
            f.write('atom %.17g %.17g %.17g %s 0 0 0 0 0\n' % (x[0], x[1], x[2], e))
        f.write('energy 0\ncharge 0\nend\n')
    subprocess.run([nnp_predict, '0'], cwd=d, check=True, stdout=subprocess.DEVNULL)
    # output.data: the structure with nnp-predict's energy and forces (physical units)
    with open(os.path.join(d, 'output.data')) as f:
        text = f.read()
    for junk in ('input.data', 'output.data', 'energy.out', 'nnatoms.out', 'nnforces.out', 'nnp-predict.log'):
        try:
            os.remove(os.path.join(d, junk))
        except FileNotFoundError:
            pass
    return text

def run(name, elements, sfs, cutoff, scaling, hidden, act, extra, seed, cell_len, n_cell, n_cluster, dmin):
    d = potential(name, elements, sfs, cutoff, scaling, hidden, act, extra, seed)
    with open(os.path.join(outdir, name + '_frames.data'), 'w') as f:
        f.write(''.join(predict(d, c) for c in configs(elements, seed + 1, cell_len, n_cell, n_cluster, dmin)))

run('tanhu', ['Si', 'O'], [
    'O 2 O 0.05 0.0 5.0', 'O 2 Si 0.2 1.2 4.5', 'O 2 Si 0.8 0.0 4.5', 'O 3 Si Si 0.03 1.0 2.0 5.0',
    'O 3 O Si 0.01 -1.0 1.0 4.8', 'O 9 Si O 0.02 1.0 4.0 4.6 0.5',
    'Si 2 O 0.1 0.0 5.0', 'Si 2 Si 0.3 2.0 5.0', 'Si 3 O O 0.02 -1.0 1.0 5.0', 'Si 3 Si O 0.04 1.0 2.5 4.7',
    'Si 9 O O 0.01 1.0 1.0 4.5', 'Si 9 Si Si 0.05 -1.0 3.0 5.0 0.8', 'Si 2 Si 0.6 0.0 4.2'],
    '2', 'scale_symmetry_functions\ncenter_symmetry_functions\nscale_min_short -1.0\nscale_max_short 1.0',
    [6, 5], 't t l', 'mean_energy -3.5\nconv_energy 2.5\nconv_length 1.3\natom_energy O -2.25\natom_energy Si -7.5\n',
    11, 7.2, 12, 7, 1.5)
run('poly2', ['O', 'H'], [
    'H 2 H 0.5 0.0 4.0', 'H 2 O 0.3 0.9 4.0', 'H 3 O O 0.02 1.0 1.0 4.0', 'H 9 H O 0.05 -1.0 2.0 3.8',
    'O 2 H 0.4 0.0 4.0', 'O 2 O 0.1 1.0 4.0', 'O 3 H H 0.03 -1.0 4.0 4.0', 'O 3 H O 0.01 1.0 1.0 3.9',
    'O 9 O O 0.02 1.0 2.0 4.0 0.3'],
    '6 0.2', 'scale_symmetry_functions_sigma\nscale_min_short 0.0\nscale_max_short 1.0',
    [5], 'p l', '', 21, 6.0, 10, 6, 1.0)
run('gauss', ['Si'], [
    'Si 2 Si 0.2 0.0 5.0', 'Si 2 Si 0.5 2.3 5.0', 'Si 3 Si Si 0.01 1.0 1.0 5.0', 'Si 3 Si Si 0.01 -1.0 2.0 5.0',
    'Si 9 Si Si 0.03 1.0 1.0 4.5 0.2'],
    '4 0.1', '', [4, 4], 'g g l', '', 31, 6.5, 10, 6, 1.9)
