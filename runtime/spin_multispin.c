/* spin_multispin.c - multi-spin coding of a periodic 2-D or 3-D Ising
 * lattice with one coupling J and one field H: up to 64 spins of one
 * checkerboard colour per 64-bit word, the antiparallel neighbours counted
 * by bitwise full adders, and each spin's acceptance decided by comparing
 * its own uniform number, bit-sliced across random words, with the
 * acceptance probability of its class (count, spin) written in binary.
 *
 * Layout: the last side Lf is cut into S strips of Ls columns (S the
 * largest divisor of Lf / 2 up to 64, so Ls is even); word x of a line
 * holds in bit k the site of column k Ls + x. The sites of a word are
 * then all of one colour (Ls even), its neighbours along the line are the
 * words x +- 1 (at x = 0 and Ls - 1 the far word rotated by one bit, which
 * is the periodic wrap), and across lines the words x of the neighbouring
 * lines. A colour's words read only the other colour's, so tasks over
 * lines update in place without touching each other's words.
 *
 * Acceptance: the probability p < 1 of a class is held as floor(p 2^64);
 * a spin is flipped when its uniform u < floor(p 2^64) / 2^64, decided
 * from the most significant bit down, one random word a bit, and stopped
 * once every spin of a block of eight words is decided (10.6 random
 * vectors a block at T_c), so each flip happens with that probability
 * exactly: p to 2^-64 (the double p itself when p >= 2^-12). Classes with
 * p >= 1 flip without a random number. */
#include "spin_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { PACKED_TASKS = 16 };

int spin_packed_init(spin_packed *p, const spin_model *m, spin_algorithm alg)
{
    memset(p, 0, sizeof *p);
    if (m->lattice_dims < 2 || !m->uniform || alg == SPIN_WOLFF) return 1;
    for (int k = 0; k < m->lattice_dims; k++)
        if (m->side[k] % 2) return 1; /* an odd side has no checkerboard */
    p->dims = m->lattice_dims;
    long lf = m->side[p->dims - 1];
    p->lines = m->n / lf;
    for (int k = 0; k < 3; k++) p->side[k] = m->side[k];
    for (long b = 64; b >= 1; b--)
        if ((lf / 2) % b == 0) {
            p->bits = (int)b;
            break;
        }
    p->words = lf / p->bits;
    p->mask = p->bits == 64 ? ~0ull : (1ull << p->bits) - 1;
    p->n = m->n;
    p->J = m->pair_scale;
    p->H = m->field[0];
    p->w = calloc((size_t)(p->lines * p->words), sizeof *p->w);
    return p->w ? 0 : -1;
}

void spin_packed_free(spin_packed *p)
{
    free(p->w);
    p->w = NULL;
}

void spin_packed_load(spin_packed *p, const int8_t *s)
{
    long lf = p->words * p->bits;
    memset(p->w, 0, (size_t)(p->lines * p->words) * sizeof *p->w);
    for (long l = 0; l < p->lines; l++)
        for (long c = 0; c < lf; c++)
            if (s[l * lf + c] > 0) p->w[l * p->words + c % p->words] |= 1ull << (c / p->words);
}

void spin_packed_store(const spin_packed *p, int8_t *s)
{
    long lf = p->words * p->bits;
    for (long l = 0; l < p->lines; l++)
        for (long c = 0; c < lf; c++)
            s[l * lf + c] = (p->w[l * p->words + c % p->words] >> (c / p->words)) & 1 ? 1 : -1;
}

/* The word whose bit k is bit k - 1 (rotl) or k + 1 (rotr) of w, within
 * the S bits of a strip. */
static inline uint64_t rotl_bits(uint64_t w, int bits, uint64_t mask)
{
    return ((w << 1) | (w >> (bits - 1))) & mask;
}

static inline uint64_t rotr_bits(uint64_t w, int bits)
{
    return (w >> 1) | ((w & 1) << (bits - 1));
}

/* A line's place across lines (2-D: a is the line, b = 0), stepped along
 * without a division per line. */
typedef struct {
    long a, b;
} line_pos;

static line_pos line_pos_of(const spin_packed *p, long l)
{
    line_pos c = {l, 0};
    if (p->dims == 3) c.a = l / p->side[1], c.b = l % p->side[1];
    return c;
}

static void line_step(const spin_packed *p, line_pos *c)
{
    if (p->dims == 3 && c->b + 1 < p->side[1]) c->b++;
    else c->b = 0, c->a++;
}

/* The 2 (dims - 1) lines next to line c across lines (dims = p->dims). */
static inline void line_neighbours(const spin_packed *p, line_pos c, int dims, long *out)
{
    long L0 = p->side[0], L1 = dims == 2 ? 1 : p->side[1];
    out[0] = (c.a + 1 == L0 ? 0 : c.a + 1) * L1 + c.b;
    out[1] = (c.a ? c.a - 1 : L0 - 1) * L1 + c.b;
    if (dims == 3) {
        out[2] = c.a * L1 + (c.b + 1 == L1 ? 0 : c.b + 1);
        out[3] = c.a * L1 + (c.b ? c.b - 1 : L1 - 1);
    }
}

/* (SPIN_HOT_KERNEL for the popcnt instruction: sample measures every sweep.) */
SPIN_HOT_KERNEL
long spin_packed_magnetisation(const spin_packed *p)
{
    long up = 0;
    for (long k = 0; k < p->lines * p->words; k++) up += __builtin_popcountll(p->w[k]);
    return 2 * up - p->n;
}

/* E = -J sum over bonds s_i s_j - H M; each site's forward bonds, as
 * spin_energy counts them (a side of 2 counts its bond twice, as the
 * local field does). */
SPIN_HOT_KERNEL
double spin_packed_energy(const spin_packed *p)
{
    long anti = 0, Ls = p->words;
    line_pos c = {0, 0};
    for (long l = 0; l < p->lines; l++, line_step(p, &c)) {
        const uint64_t *w = p->w + l * Ls;
        long nb[4];
        line_neighbours(p, c, p->dims, nb);
        for (long x = 0; x < Ls; x++) {
            uint64_t right = x + 1 < Ls ? w[x + 1] : rotr_bits(w[0], p->bits);
            anti += __builtin_popcountll(w[x] ^ right);
            for (int d = 0; d < 2 * (p->dims - 1); d += 2) anti += __builtin_popcountll(w[x] ^ p->w[nb[d] * Ls + x]);
        }
    }
    double pair = (double)(p->n * p->dims - 2 * anti);
    return -p->J * pair - p->H * (double)spin_packed_magnetisation(p);
}

/* The classes with acceptance below 1: n antiparallel neighbours and, with
 * a field, the spin's sign (up = -1: either sign). */
typedef struct {
    int n_classes;
    int count[14], up[14];
    uint64_t thr[14];
    int lowest;                 /* the lowest bit set in any threshold */
} accept_table;

enum { BLOCK = 8 };

/* BLOCK words side by side, one per lane of a 512-bit vector. */
typedef uint64_t word_vec __attribute__((vector_size(8 * BLOCK)));

/* BLOCK xoshiro256++ generators side by side (one per lane; no
 * multiplication, so the step is a few vector instructions), seeded from
 * a task's stream: a task's numbers depend on its key only. */
typedef struct {
    word_vec s0, s1, s2, s3;
} block_rng;

static void block_rng_seed(block_rng *g, uint64_t seed, long sweep, int colour, int task)
{
    physrt_rng r;
    physrt_rng_seed_stream(&r, seed, (uint64_t)sweep, 4 + (uint64_t)colour, (uint64_t)task);
    for (int l = 0; l < BLOCK; l++) {
        g->s0[l] = physrt_rng_next_u64(&r);
        g->s1[l] = physrt_rng_next_u64(&r);
        g->s2[l] = physrt_rng_next_u64(&r);
        g->s3[l] = physrt_rng_next_u64(&r) | 1; /* never all zero */
    }
}

/* (Vectors pass by pointer: by value they would change the ABI between
 * the clones of SPIN_HOT_KERNEL.) */
static inline __attribute__((always_inline)) void block_rng_next(block_rng *g, word_vec *out)
{
    word_vec a = g->s0 + g->s3, t = g->s1 << 17;
    *out = ((a << 23) | (a >> 41)) + g->s0;
    g->s2 ^= g->s0;
    g->s3 ^= g->s1;
    g->s1 ^= g->s2;
    g->s0 ^= g->s3;
    g->s2 ^= t;
    g->s3 = (g->s3 << 45) | (g->s3 >> 19);
}

/* Whether any lane has a bit set: the halves folded together. */
typedef uint64_t half_vec __attribute__((vector_size(4 * BLOCK)));
typedef uint64_t quarter_vec __attribute__((vector_size(2 * BLOCK)));

static inline int any_bit(const word_vec *v)
{
    half_vec h0, h1;
    quarter_vec q0, q1;
    memcpy(&h0, v, sizeof h0);
    memcpy(&h1, (const char *)v + sizeof h0, sizeof h1);
    h0 |= h1;
    memcpy(&q0, &h0, sizeof q0);
    memcpy(&q1, (const char *)&h0 + sizeof q0, sizeof q1);
    q0 |= q1;
    return (q0[0] | q0[1]) != 0;
}

/* BLOCK words of one colour at once: s the spins, d[k] = s XOR the k-th
 * neighbour word, valid the bits in use (0 in padding lanes). Writes the
 * bits to flip. */
static inline __attribute__((always_inline)) void decide_block(const word_vec *sp, const word_vec *d, int dims,
                                                              const word_vec *validp, const accept_table *tab,
                                                              block_rng *g, word_vec *out)
{
    word_vec s = *sp, valid = *validp;
    /* antiparallel neighbours, 0 .. 2 dims, as bits b2 b1 b0 (full adders) */
    word_vec b0, b1, b2, sa = d[0] ^ d[1] ^ d[2], ca = (d[0] & d[1]) | (d[2] & (d[0] ^ d[1]));
    if (dims == 2) {
        word_vec c2 = sa & d[3];
        b0 = sa ^ d[3], b1 = ca ^ c2, b2 = ca & c2;
    } else {
        word_vec sb = d[3] ^ d[4] ^ d[5], cb = (d[3] & d[4]) | (d[5] & (d[3] ^ d[4])), k = sa & sb;
        b0 = sa ^ sb, b1 = ca ^ cb ^ k, b2 = (ca & cb) | (k & (ca ^ cb));
    }
    word_vec cm[14], undecided = {0}, less = {0};
    for (int c = 0; c < tab->n_classes; c++) {
        int n = tab->count[c];
        word_vec m = ~((b0 ^ -(uint64_t)(n & 1)) | (b1 ^ -(uint64_t)((n >> 1) & 1)) | (b2 ^ -(uint64_t)(n >> 2)));
        if (tab->up[c] >= 0) m &= tab->up[c] ? s : ~s;
        cm[c] = m & valid;
        undecided |= cm[c];
    }
    word_vec flip = valid & ~undecided; /* the classes that always flip */
    /* undecided is checked every other bit: a step with nothing undecided
     * changes nothing, and the check costs about as much as a step */
    for (int j = 63; j >= tab->lowest && (j % 2 == 0 || any_bit(&undecided)); j--) {
        word_vec r, t = {0};
        block_rng_next(g, &r);
        for (int c = 0; c < tab->n_classes; c++)
            if ((tab->thr[c] >> j) & 1) t |= cm[c];
        less |= undecided & t & ~r;  /* threshold bit 1, random bit 0: u < p */
        undecided &= ~(t ^ r);       /* equal so far */
    }
    *out = flip | less;
}

/* The words of one colour on lines [l0, l1), BLOCK at a time in line
 * order. Returns the spins flipped. */
static inline __attribute__((always_inline)) long update_lines_dims(spin_packed *p, long l0, long l1, int colour,
                                                                   const accept_table *tab, block_rng *g, int dims)
{
    long flips = 0, Ls = p->words;
    int bits = p->bits, fill = 0;
    uint64_t mask = p->mask, *at[BLOCK];
    word_vec s = {0}, d[6] = {{0}}, valid = {0};
    line_pos c = line_pos_of(p, l0);
    for (long l = l0; l < l1 || fill; l++, line_step(p, &c)) {
        if (l >= l1) { /* the last, partial block: padding lanes flip nothing */
            for (int k = fill; k < BLOCK; k++) {
                s[k] = valid[k] = 0;
                for (int e = 0; e < 2 * dims; e++) d[e][k] = 0;
            }
            word_vec flip;
            decide_block(&s, d, dims, &valid, tab, g, &flip);
            for (int k = 0; k < fill; k++) *at[k] = s[k] ^ flip[k], flips += __builtin_popcountll(flip[k]);
            break;
        }
        long nb[4];
        const uint64_t *across[4];
        uint64_t *w = p->w + l * Ls;
        line_neighbours(p, c, dims, nb);
        for (int k = 0; k < 2 * (dims - 1); k++) across[k] = p->w + nb[k] * Ls;
        for (long x = (c.a + c.b + colour) & 1; x < Ls; x += 2) {
            uint64_t v = w[x];
            s[fill] = v;
            d[0][fill] = v ^ (x ? w[x - 1] : rotl_bits(w[Ls - 1], bits, mask));
            d[1][fill] = v ^ (x + 1 < Ls ? w[x + 1] : rotr_bits(w[0], bits));
            for (int k = 0; k < 2 * (dims - 1); k++) d[2 + k][fill] = v ^ across[k][x];
            valid[fill] = mask;
            at[fill++] = w + x;
            if (fill < BLOCK) continue;
            word_vec flip;
            decide_block(&s, d, dims, &valid, tab, g, &flip);
            word_vec out = s ^ flip;
            for (int k = 0; k < BLOCK; k++) *at[k] = out[k], flips += __builtin_popcountll(flip[k]);
            fill = 0;
        }
    }
    return flips;
}

SPIN_HOT_KERNEL
static long update_lines(spin_packed *p, long l0, long l1, int colour, const accept_table *tab_in, const block_rng *g_in)
{
    block_rng g = *g_in; /* locals: no store through the lattice can touch them */
    accept_table tab = *tab_in;
    return p->dims == 2 ? update_lines_dims(p, l0, l1, colour, &tab, &g, 2)
                        : update_lines_dims(p, l0, l1, colour, &tab, &g, 3);
}

typedef struct {
    spin_packed *p;
    int colour;
    uint64_t seed;
    long sweep;
    accept_table tab;
    long flips[PACKED_TASKS];
} packed_ctx;

static void packed_task(void *vctx, int task, int n_tasks)
{
    packed_ctx *cx = vctx;
    block_rng g;
    block_rng_seed(&g, cx->seed, cx->sweep, cx->colour, task);
    long l0 = cx->p->lines * task / n_tasks, l1 = cx->p->lines * (task + 1) / n_tasks;
    cx->flips[task] = update_lines(cx->p, l0, l1, cx->colour, &cx->tab, &g);
}

/* dE of flipping a spin (up or down) with n of its z neighbours antiparallel:
 * the neighbours sum to s (z - 2 n). */
static void accept_table_build(accept_table *tab, const spin_packed *p, double T, spin_algorithm alg)
{
    int z = 2 * p->dims;
    tab->n_classes = 0;
    tab->lowest = 64;
    for (int n = 0; n <= z; n++)
        for (int up = p->H == 0 ? -1 : 0; up <= 1; up += p->H == 0 ? 2 : 1) {
            double si = up == 0 ? -1 : 1;
            double dE = 2 * p->J * (z - 2 * n) + 2 * p->H * si;
            double prob = alg == SPIN_GLAUBER ? 1 / (1 + exp(dE / T)) : dE <= 0 ? 1 : exp(-dE / T);
            if (prob >= 1) continue;
            if (!(prob > 0)) prob = 0; /* NaN (an infinite coupling): never */
            int c = tab->n_classes++;
            tab->count[c] = n;
            tab->up[c] = up;
            tab->thr[c] = (uint64_t)(prob * 0x1p64);
            if (tab->thr[c] && __builtin_ctzll(tab->thr[c]) < tab->lowest) tab->lowest = __builtin_ctzll(tab->thr[c]);
        }
}

long spin_packed_sweep(spin_packed *p, double T, spin_algorithm alg, uint64_t seed, long sweep, physrt_pool *pool)
{
    packed_ctx cx = {.p = p, .seed = seed, .sweep = sweep};
    accept_table_build(&cx.tab, p, T, alg);
    /* a fixed split for the lattice (the numbers never depend on the
     * threads), one task per 4096 spins up to PACKED_TASKS */
    long n_tasks = (p->n + 4095) / 4096;
    if (n_tasks > PACKED_TASKS) n_tasks = PACKED_TASKS;
    if (n_tasks > p->lines) n_tasks = p->lines;
    physrt_pool *use = p->n >= (1L << 14) ? pool : NULL; /* small lattices: threads cost more than they give */
    long flips = 0;
    for (int colour = 0; colour < 2; colour++) {
        cx.colour = colour;
        physrt_pool_run(use, (int)n_tasks, packed_task, &cx);
        for (int t = 0; t < n_tasks; t++) flips += cx.flips[t];
    }
    return flips;
}
