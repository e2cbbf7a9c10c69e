/* The C library of a compiled particle model (physc --emit=lib) against
 * the compiled program's own numbers: reads a frame the program's simulate
 * verb wrote (extended XYZ with Lattice, potential= and the columns
 * species pos velo forces), evaluates it through physc_potential.h and
 * checks the energy and the forces to 1e-10 relative; with a pressure
 * tensor of LAMMPS (metal units, bar, at zero temperature: the virial
 * only) it checks the stress too, and the stress against central
 * differences of the energy under strain, and an open cluster of the first atoms
 * against the same library's forces by central differences.
 *
 * usage: potential_lib FRAME.xyz [PXX PYY PZZ PYZ PXZ PXY | -]
 * ("-": the stress without LAMMPS's, against strain differences only)
 * Prints the measured errors; exit status 0 when all are within bounds. */
#include "physc_potential.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_frame(const char *path, int *n, double **r, double **f, double cell[9], double *energy)
{
    FILE *in = fopen(path, "r");
    char line[4096];
    if (!in || !fgets(line, sizeof line, in) || sscanf(line, "%d", n) != 1 || *n <= 0 || !fgets(line, sizeof line, in))
        return -1;
    const char *lat = strstr(line, "Lattice=\""), *pot = strstr(line, "potential=");
    if (!lat || !pot || sscanf(pot + 10, "%lf", energy) != 1) return -1;
    lat += 9;
    for (int k = 0; k < 9; k++) {
        char *end;
        cell[k] = strtod(lat, &end);
        if (end == lat) return -1;
        lat = end;
    }
    *r = malloc(sizeof(double) * 3 * (size_t)*n);
    *f = malloc(sizeof(double) * 3 * (size_t)*n);
    for (int i = 0; i < *n; i++) {
        char sp[64];
        double v[3];
        double *x = *r + 3 * i, *g = *f + 3 * i;
        if (!fgets(line, sizeof line, in) || sscanf(line, "%63s %lf %lf %lf %lf %lf %lf %lf %lf %lf", sp, x, x + 1,
                                                     x + 2, v, v + 1, v + 2, g, g + 1, g + 2) != 10)
            return -1;
    }
    fclose(in);
    return 0;
}

int main(int argc, char **argv)
{
    const int with_lammps = argc == 8, with_stress = with_lammps || (argc == 3 && !strcmp(argv[2], "-"));
    if (argc != 2 && !with_stress) {
        fprintf(stderr, "usage: potential_lib FRAME.xyz [PXX PYY PZZ PYZ PXZ PXY | -]\n");
        return 2;
    }
    int n, fails = 0;
    double *r, *f_ref, cell[9], e_ref;
    if (read_frame(argv[1], &n, &r, &f_ref, cell, &e_ref)) {
        fprintf(stderr, "%s: not a frame of the simulate verb\n", argv[1]);
        return 1;
    }
    char err[256];
    physc_potential *p = physc_potential_create(err, sizeof err);
    if (!p) {
        fprintf(stderr, "physc_potential_create: %s\n", err);
        return 1;
    }
    double e, stress[6], *f = malloc(sizeof(double) * 3 * (size_t)n);
    if (physc_potential_compute(p, n, r, NULL, cell, NULL, &e, f, with_stress ? stress : NULL)) {
        fprintf(stderr, "physc_potential_compute: %s\n", physc_potential_error(p));
        return 1;
    }
    double df = 0, fbig = 0;
    for (int q = 0; q < 3 * n; q++) {
        df = fmax(df, fabs(f[q] - f_ref[q]));
        fbig = fmax(fbig, fabs(f_ref[q]));
    }
    const double de = fabs(e - e_ref) / fabs(e_ref);
    printf("library %s (%s, cutoff %g): %d atoms, E = %.17g; relative energy error %.3g, max force error / max "
           "force %.3g\n", physc_potential_name(p), physc_potential_species(p), physc_potential_cutoff(p), n, e, de,
           df / fbig);
    if (!(de <= 1e-10 && df / fbig <= 1e-10)) fails++;
    if (with_stress)
        printf("stress (eV/A^3) %.10g %.10g %.10g %.10g %.10g %.10g\n", stress[0], stress[1], stress[2], stress[3],
               stress[4], stress[5]);
    if (with_lammps) {
        /* LAMMPS: p = -virial / V in bar; the stress is virial / V in eV/A^3 */
        const double nktv2p = 1.6021765e6;
        double ds = 0, pmax = 0;
        for (int v = 0; v < 6; v++) {
            double lmp = -atof(argv[2 + v]) / nktv2p;
            ds = fmax(ds, fabs(stress[v] - lmp));
            pmax = fmax(pmax, fabs(lmp));
        }
        printf("stress: max error against LAMMPS / max |stress| %.3g\n", ds / pmax);
        if (!(ds / pmax <= 1e-10)) fails++;
    }
    if (with_stress) {
        double pmax = 0;
        for (int v = 0; v < 6; v++) pmax = fmax(pmax, fabs(stress[v]));
        /* stress = (1/V) dE/d(strain): x_a += t x_b for the atoms and the cell's vectors */
        static const int a[6] = {0, 1, 2, 1, 0, 0}, b[6] = {0, 1, 2, 2, 2, 1};
        const double volume = fabs(cell[0] * (cell[4] * cell[8] - cell[5] * cell[7]) -
                                   cell[1] * (cell[3] * cell[8] - cell[5] * cell[6]) +
                                   cell[2] * (cell[3] * cell[7] - cell[4] * cell[6]));
        double *rs = malloc(sizeof(double) * 3 * (size_t)n), worst_strain = 0;
        for (int v = 0; v < 6; v++) {
            double side[2];
            for (int sign = 0; sign < 2; sign++) {
                const double t = sign ? -1e-6 : 1e-6;
                double cs[9];
                for (int q = 0; q < 3 * n; q += 3) {
                    memcpy(rs + q, r + q, sizeof(double) * 3);
                    rs[q + a[v]] += t * r[q + b[v]];
                }
                memcpy(cs, cell, sizeof cs);
                for (int q = 0; q < 9; q += 3) cs[q + a[v]] += t * cell[q + b[v]];
                if (physc_potential_compute(p, n, rs, NULL, cs, NULL, &side[sign], NULL, NULL)) return 1;
            }
            worst_strain = fmax(worst_strain, fabs((side[0] - side[1]) / 2e-6 / volume - stress[v]) / pmax);
        }
        free(rs);
        printf("stress against central differences of the energy under strain: max error / max |stress| %.3g\n",
               worst_strain);
        if (!(worst_strain <= 1e-6)) fails++;
    }
    /* an open cluster of the first 20 atoms: forces = -dE/dr by central differences */
    const int m = n < 20 ? n : 20;
    double fc[60], worst = 0, h = 1e-5;
    if (physc_potential_compute(p, m, r, NULL, NULL, NULL, &e, fc, NULL)) return 1;
    for (int q = 0; q < 3 * m; q++) {
        double ep, em, x = r[q];
        r[q] = x + h;
        physc_potential_compute(p, m, r, NULL, NULL, NULL, &ep, NULL, NULL);
        r[q] = x - h;
        physc_potential_compute(p, m, r, NULL, NULL, NULL, &em, NULL, NULL);
        r[q] = x;
        worst = fmax(worst, fabs(fc[q] + (ep - em) / (2 * h)) / fmax(1.0, fabs(fc[q])));
    }
    printf("open cluster of %d atoms: forces against central differences of the energy, max error %.3g\n", m, worst);
    if (!(worst <= 1e-6)) fails++;
    /* bad input is named, not crashed on */
    int bad_species[1] = {7};
    if (physc_potential_compute(p, 1, r, bad_species, NULL, NULL, &e, NULL, NULL) == 0 ||
        !strstr(physc_potential_error(p), "species")) {
        printf("a bad species code was not refused\n");
        fails++;
    }
    physc_potential_destroy(p);
    free(r);
    free(f);
    free(f_ref);
    return fails ? 1 : 0;
}
