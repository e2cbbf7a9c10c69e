/* gen_data - writes the observation files of the Hamiltonian examples,
 * deterministically (fixed seeds), so they can be regenerated:
 *
 *   gen_data spring   DIR   spring.csv, spring_test.csv
 *   gen_data pendulum DIR   pendulum.csv, pendulum_test.csv
 *   gen_data nbody    DIR   nbody_init.csv (start states for the N-body truth model)
 *
 * spring and pendulum follow Greydanus et al. (2019), "Hamiltonian Neural
 * Networks": 50 trajectories, each 30 (spring, t in [0, 3]) or 45
 * (pendulum, t in [0, 3]) evenly spaced states from a random start on a
 * random energy shell; Gaussian noise (sd 0.1) on q and p, the time
 * derivatives exact at the clean states. The first 25 trajectories are the
 * training set (NAME.csv: trajectory, t, q, p, dq, dp), the last 25 the
 * test set (NAME_test.csv: the clean start q, p of each, and its energy). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t state;
} rng;

static double uniform(rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double gaussian(rng *r)
{
    double u = uniform(r), v = uniform(r);
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

typedef struct {
    const char *name;
    double (*energy)(double q, double p);
    void (*flow)(double q, double p, double *dq, double *dp);
    double radius_lo, radius_hi;
    int points;
} system_def;

/* H = q^2 + p^2 */
static double spring_energy(double q, double p) { return q * q + p * p; }
static void spring_flow(double q, double p, double *dq, double *dp) { *dq = 2 * p, *dp = -2 * q; }
/* H = 3 (1 - cos q) + p^2 */
static double pendulum_energy(double q, double p) { return 3 * (1 - cos(q)) + p * p; }
static void pendulum_flow(double q, double p, double *dq, double *dp) { *dq = 2 * p, *dp = -3 * sin(q); }

/* Exact enough: RK4 with 1e-4 steps (error far below the noise). */
static void advance(const system_def *s, double *q, double *p, double t)
{
    int n = (int)ceil(t / 1e-4);
    double h = n ? t / n : 0;
    for (int i = 0; i < n; i++) {
        double q1, p1, q2, p2, q3, p3, q4, p4;
        s->flow(*q, *p, &q1, &p1);
        s->flow(*q + h / 2 * q1, *p + h / 2 * p1, &q2, &p2);
        s->flow(*q + h / 2 * q2, *p + h / 2 * p2, &q3, &p3);
        s->flow(*q + h * q3, *p + h * p3, &q4, &p4);
        *q += h / 6 * (q1 + 2 * q2 + 2 * q3 + q4);
        *p += h / 6 * (p1 + 2 * p2 + 2 * p3 + p4);
    }
}

static FILE *open_out(const char *dir, const char *name, const char *suffix)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s.csv", dir, name, suffix);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

static int hamiltonian_data(const system_def *s, const char *dir)
{
    rng r = {0};
    FILE *train = open_out(dir, s->name, ""), *test = open_out(dir, s->name, "_test");
    fprintf(train, "# %s: 25 noisy trajectories (noise sd 0.1 on q, p); written by examples/tools/gen_data\n",
            s->name);
    fprintf(train, "trajectory,t,q,p,dq,dp\n");
    fprintf(test, "# %s: clean start states of the 25 test trajectories and their energy\n", s->name);
    fprintf(test, "q,p,energy\n");
    for (int k = 0; k < 50; k++) {
        double q = uniform(&r) * 2 - 1, p = uniform(&r) * 2 - 1;
        double radius = s->radius_lo + uniform(&r) * (s->radius_hi - s->radius_lo);
        double norm = sqrt(q * q + p * p);
        q = q / norm * radius, p = p / norm * radius;
        if (k >= 25) {
            fprintf(test, "%.17g,%.17g,%.17g\n", q, p, s->energy(q, p));
            continue;
        }
        double t = 0;
        for (int i = 0; i < s->points; i++) {
            double ti = 3.0 * i / (s->points - 1);
            advance(s, &q, &p, ti - t);
            t = ti;
            double dq, dp;
            s->flow(q, p, &dq, &dp);
            fprintf(train, "%d,%.17g,%.17g,%.17g,%.17g,%.17g\n", k, t, q + 0.1 * gaussian(&r), p + 0.1 * gaussian(&r),
                    dq, dp);
        }
    }
    fclose(train);
    fclose(test);
    return 0;
}

/* Start states of 8 bodies in the plane: positions on a jittered 3 x 3
 * grid of spacing 1 (one site empty), velocities small, total momentum
 * zero; 16 such starts. */
static int nbody_init(const char *dir)
{
    rng r = {7};
    FILE *f = open_out(dir, "nbody", "_init");
    fprintf(f, "# 16 start states of 8 bodies; written by examples/tools/gen_data\n");
    for (int i = 0; i < 8; i++) fprintf(f, "%sr_%d_x,r_%d_y", i ? "," : "", i, i);
    for (int i = 0; i < 8; i++) fprintf(f, ",v_%d_x,v_%d_y", i, i);
    fprintf(f, "\n");
    for (int k = 0; k < 16; k++) {
        double v[16], mean[2] = {0, 0};
        int skip = (int)(uniform(&r) * 9);
        for (int i = 0, site = 0; i < 8; i++, site++) {
            if (site == skip) site++;
            double x = site % 3 + 0.1 * gaussian(&r), y = site / 3 + 0.1 * gaussian(&r);
            fprintf(f, "%s%.17g,%.17g", i ? "," : "", x, y);
        }
        for (int i = 0; i < 16; i++) v[i] = 0.2 * gaussian(&r), mean[i % 2] += v[i] / 8;
        for (int i = 0; i < 16; i++) fprintf(f, ",%.17g", v[i] - mean[i % 2]);
        fprintf(f, "\n");
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    static const system_def spring = {"spring", spring_energy, spring_flow, 0.1, 1.0, 30};
    static const system_def pendulum = {"pendulum", pendulum_energy, pendulum_flow, 1.3, 2.3, 45};
    if (argc == 3 && !strcmp(argv[1], "spring")) return hamiltonian_data(&spring, argv[2]);
    if (argc == 3 && !strcmp(argv[1], "pendulum")) return hamiltonian_data(&pendulum, argv[2]);
    if (argc == 3 && !strcmp(argv[1], "nbody")) return nbody_init(argv[2]);
    fprintf(stderr, "usage: gen_data spring|pendulum|nbody DIR\n");
    return 2;
}
