/* bench_neighbors.c - times neighbour-list builds at Lennard-Jones liquid
 * density (rho = 0.8442, cutoff 2.5, skin 0.3) in a periodic cube, for
 * half and full lists. Positions are uniform random (the pair count of an
 * ideal gas at that density, which is the liquid's within a few percent at
 * this cutoff). Every timed update is a rebuild: the positions alternate
 * between r and r translated by the skin. Also times an update that keeps
 * the list (the displacement check). Times are CPU time of the thread.
 *
 * Usage: bench_neighbors [N ...]   (default 10000 100000) */
#define _POSIX_C_SOURCE 200809L
#include "neighbors.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>

/* CPU time of this thread: the machine may be shared, and a build is serial. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench(int n, int half)
{
    const double rho = 0.8442, cutoff = 2.5, skin = 0.3;
    const double L = cbrt(n / rho);
    physrt_cell cell = {3, {1, 1, 1}, {{L, 0, 0}, {0, L, 0}, {0, 0, L}}};
    double *r[2];
    r[0] = malloc(sizeof(double) * 3 * (size_t)n);
    r[1] = malloc(sizeof(double) * 3 * (size_t)n);
    unsigned long long state = 12345;
    for (size_t p = 0; p < 3 * (size_t)n; p++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        r[0][p] = L * (double)(state >> 11) / 9007199254740992.0;
        r[1][p] = r[0][p] + skin;
    }
    physrt_neighbors *nl = physrt_neighbors_create(3, cutoff, skin, half);
    if (physrt_neighbors_update(nl, n, r[0], &cell) != 1) {
        fprintf(stderr, "bench_neighbors: %s\n", physrt_neighbors_error(nl));
        exit(1);
    }
    int builds = 0;
    double t0 = now_seconds(), t;
    do {
        builds++;
        if (physrt_neighbors_update(nl, n, r[builds % 2], &cell) != 1) {
            fprintf(stderr, "bench_neighbors: expected a rebuild\n");
            exit(1);
        }
        t = now_seconds() - t0;
    } while (t < 1.0 || builds < 3);
    long pairs = physrt_neighbors_pairs(nl)->n;

    int checks = 0;
    double c0 = now_seconds(), c;
    do {
        checks++;
        physrt_neighbors_update(nl, n, r[builds % 2], &cell);
        c = now_seconds() - c0;
    } while (c < 0.2);
    printf("N %7d  %s  %9ld pairs (%.1f per particle)  %8.2f builds/s  %7.2f ms/build  %6.1f ns/pair"
           "  kept update %.3f ms\n",
           n, half ? "half" : "full", pairs, (double)pairs / n, builds / t, 1e3 * t / builds,
           1e9 * t / builds / (double)pairs, 1e3 * c / checks);
    physrt_neighbors_destroy(nl);
    free(r[0]);
    free(r[1]);
}

int main(int argc, char **argv)
{
    int sizes[16], n_sizes = 0;
    for (int a = 1; a < argc && n_sizes < 16; a++) sizes[n_sizes++] = atoi(argv[a]);
    if (!n_sizes) {
        sizes[n_sizes++] = 10000;
        sizes[n_sizes++] = 100000;
    }
    for (int s = 0; s < n_sizes; s++) {
        bench(sizes[s], 1);
        bench(sizes[s], 0);
    }
    return 0;
}
