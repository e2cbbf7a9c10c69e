/* simulate.c - the simulate verb: integrates the model's dynamics
 * ds/dt = f(s) from one or more start states and writes the trajectories.
 *
 * Every trajectory (a start state: the declaration's values, or one row of a
 * CSV file) is integrated together as one batch: each evaluation of the
 * right-hand side is one term_eval call over all trajectories. A state is
 * n_state evolving numbers then n_aux constant ones (masses, charges), the
 * layout of physm_dynamics; the batch is B x (n_state + n_aux), row-major,
 * exactly the points of the rhs pseudo-term, whose residuals f[j * B + b]
 * are ds_j/dt of trajectory b.
 *
 * Integrators (h = dt):
 *   rk4       classic fourth-order Runge-Kutta, 4 evaluations per step;
 *   midpoint  implicit midpoint s' = s + h f((s + s') / 2): an explicit
 *             Euler guess, then fixed-point iteration until no component
 *             changes by more than tolerance * (1 + |value|), then up to two
 *             more iterations, until one changes nothing: the error the
 *             criterion leaves is biased (the iterates approach from one
 *             side) and would add up over many steps; symplectic, conserves
 *             quadratic invariants exactly (1e5 steps of a spring: ~1e-14);
 *   leapfrog  (verlet) Stormer-Verlet on positions q = s[0, n_half) and
 *             momenta p = s[n_half, n_state):
 *               p_half = p + h/2 fp(q, p_half)
 *               q'     = q + h/2 (fq(q, p_half) + fq(q', p_half))
 *               p'     = p_half + h/2 fp(q', p_half)
 *             The implicit stages are fixed-point iterations like midpoint's
 *             (the first guess of p_half uses the force at the end of the
 *             previous step); an accepted iterate is one whose evaluation
 *             changes it by less than the tolerance, so the evaluation kept
 *             for the next stage is at the accepted values. With separable
 *             dynamics every stage is explicit: fp depends on q only, so the
 *             force at the end of a step starts the next one; Newtonian
 *             dynamics whose rhs gives dq/dt = v (checked on the first
 *             evaluation) skip the evaluation of fq: one evaluation per step
 *             (velocity Verlet); separable Hamiltonian dynamics take two.
 *
 * Output CSV: trajectory,step,t,<state names>[,energy][,P_x,P_y[,P_z]],<aux names> at
 * step 0, every every-th step and the last step, %.17g, trajectory by
 * trajectory (so trajectory(t) data can read it back), written to FILE.tmp
 * and renamed. The energy and momentum (when the model defines them) are
 * measured after every step; the drift report on stdout gives the largest
 * relative change over trajectories and steps and the change at the end. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_MAX_ITER 200
#define SIM_DEFAULT_TOL 1e-12
#define SIM_TINY 1e-300

const char *physm_integrator_name(int k)
{
    switch (k) {
    case PHYSM_INT_LEAPFROG: return "leapfrog";
    case PHYSM_INT_MIDPOINT: return "midpoint";
    case PHYSM_INT_RK4: return "rk4";
    case PHYSM_INT_LANGEVIN: return "langevin";
    }
    return "?";
}

typedef struct {
    const physm_layout *lay;
    const physm_dynamics *d;
    const char *prog;
    const double *theta;
    physm_term_eval *rhs_ev, *energy_ev, *mom_ev;
    int B, nc, ns, nh;
    double h, tol;
    double *s, *w, *x;            /* B x nc: the state, an evaluation point, an iterate */
    double *k[4];                 /* ns x B: rhs values */
    double *fp_next;              /* ns x B, rows [nh, ns): fp at the start of the next leapfrog step */
    int have_fp_next;
    int v_shortcut;               /* Newtonian leapfrog: dq/dt == v, fq needs no evaluation */
    long step;                    /* the step being taken (1-based) */
    long evals;
    int failed;                   /* an error was reported */
    double last_change;           /* largest |new - old| / (1 + |new|) of the last update */
} sim_state;

static int rhs(sim_state *S, const double *pts, double *out)
{
    S->evals++;
    if (physm_term_eval_run(S->rhs_ev, S->theta, pts, S->B, out)) {
        fprintf(stderr, "%s: error: step %ld: cannot evaluate the equations of motion\n", S->prog, S->step);
        S->failed = 1;
        return -1;
    }
    return 0;
}

static void report_not_finite(sim_state *S, int b, int j, double v)
{
    fprintf(stderr, "%s: error: step %ld, trajectory %d: the state is not finite (%s = %g); reduce dt?\n",
            S->prog, S->step, b, S->d->names[j], v);
    S->failed = 1;
}

static void report_no_convergence(sim_state *S, const char *what)
{
    fprintf(stderr, "%s: error: step %ld: the implicit %s iteration did not converge in %d iterations; "
            "reduce dt\n", S->prog, S->step, what, SIM_MAX_ITER);
    S->failed = 1;
}

/* The fixed-point proposal for component j of trajectory b:
 * base[b * nc + j] + c * f[j * B + b] (+ c * g[j * B + b] when g is given). */
static inline double proposal(const sim_state *S, const double *base, double c, const double *f, const double *g,
                              int b, int j)
{
    double v = base[(size_t)b * S->nc + j] + c * f[(size_t)j * S->B + b];
    if (g) v += c * g[(size_t)j * S->B + b];
    return v;
}

/* The iterate x[b * nc + j] (j in [j0, j1)) is replaced by its proposal.
 * Returns 1 if no component changed by more than tol * (1 + |new|), 0 if
 * some did, -1 on a non-finite value (reported). */
static int update(sim_state *S, double *x, const double *base, double c, const double *f, const double *g,
                  int j0, int j1)
{
    const int B = S->B, nc = S->nc;
    int conv = 1;
    S->last_change = 0;
    for (int b = 0; b < B; b++)
        for (int j = j0; j < j1; j++) {
            const size_t i = (size_t)b * nc + j;
            const double v = proposal(S, base, c, f, g, b, j);
            if (!isfinite(v)) {
                report_not_finite(S, b, j, v);
                return -1;
            }
            const double change = fabs(v - x[i]) / (1 + fabs(v));
            if (change > S->tol) conv = 0;
            if (change > S->last_change) S->last_change = change;
            x[i] = v;
        }
    return conv;
}

/* The fixed-point map of update at the iterate x: returns 1 and leaves x
 * alone if x is accepted (so the evaluation f is at the accepted values),
 * else moves x like update and returns 0 (-1: non-finite, reported). */
static int iterate(sim_state *S, double *x, const double *base, double c, const double *f, const double *g,
                   int j0, int j1)
{
    for (int b = 0; b < S->B; b++)
        for (int j = j0; j < j1; j++) {
            const double v = proposal(S, base, c, f, g, b, j);
            if (!isfinite(v) || fabs(v - x[(size_t)b * S->nc + j]) > S->tol * (1 + fabs(v)))
                return update(S, x, base, c, f, g, j0, j1) < 0 ? -1 : 0;
        }
    return 1;
}

static int step_rk4(sim_state *S)
{
    const int B = S->B, nc = S->nc, ns = S->ns;
    const double h = S->h;
    double *s = S->s, *w = S->w, **k = S->k;
    if (rhs(S, s, k[0])) return -1;
    for (int stage = 1; stage < 4; stage++) {
        const double c = stage == 3 ? h : h / 2;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < ns; j++)
                w[(size_t)b * nc + j] = s[(size_t)b * nc + j] + c * k[stage - 1][(size_t)j * B + b];
        if (rhs(S, w, k[stage])) return -1;
    }
    for (int b = 0; b < B; b++)
        for (int j = 0; j < ns; j++) {
            const size_t q = (size_t)j * B + b;
            s[(size_t)b * nc + j] += h / 6 * (k[0][q] + 2 * k[1][q] + 2 * k[2][q] + k[3][q]);
        }
    return 0;
}

static int step_midpoint(sim_state *S)
{
    const int B = S->B, nc = S->nc, ns = S->ns;
    const double h = S->h;
    double *s = S->s, *w = S->w, *x = S->x, **k = S->k;
    if (rhs(S, s, k[0])) return -1;
    if (update(S, x, s, h, k[0], NULL, 0, ns) < 0) return -1;   /* explicit Euler guess */
    int polished = 0;
    for (int it = 0; it < SIM_MAX_ITER; it++) {
        for (int b = 0; b < B; b++)
            for (int j = 0; j < ns; j++) {
                const size_t i = (size_t)b * nc + j;
                w[i] = 0.5 * (s[i] + x[i]);
            }
        if (rhs(S, w, k[1])) return -1;
        int rc = update(S, x, s, h, k[1], NULL, 0, ns);
        if (rc < 0) return -1;
        polished += rc;
        if (polished > 2 || (polished && S->last_change == 0)) {
            for (int b = 0; b < B; b++)
                memcpy(s + (size_t)b * nc, x + (size_t)b * nc, (size_t)ns * sizeof *s);
            return 0;
        }
    }
    report_no_convergence(S, "midpoint");
    return -1;
}

static int step_leapfrog(sim_state *S)
{
    const int B = S->B, nc = S->nc, nh = S->nh, ns = S->ns;
    const double h = S->h;
    double *s = S->s, *w = S->w, **k = S->k;
    const int separable = S->d->separable;

    /* fp at the start: the end of the previous step, or one evaluation */
    if (!S->have_fp_next) {
        if (rhs(S, s, k[0])) return -1;
        memcpy(S->fp_next + (size_t)nh * B, k[0] + (size_t)nh * B, (size_t)nh * B * sizeof *k[0]);
        if (S->v_shortcut < 0) {   /* first evaluation: does the rhs give dq/dt = v? */
            int same = S->d->kind == PHYSM_DYN_NEWTON && separable;
            for (int b = 0; b < B && same; b++)
                for (int j = 0; j < nh; j++)
                    if (k[0][(size_t)j * B + b] != s[(size_t)b * nc + nh + j]) same = 0;
            S->v_shortcut = same;
        }
    }
    /* w = (q, p_half): the guess p + h/2 fp_next is exact when separable */
    for (int b = 0; b < B; b++)
        memcpy(w + (size_t)b * nc, s + (size_t)b * nc, (size_t)ns * sizeof *w);
    if (update(S, w, s, h / 2, S->fp_next, NULL, nh, ns) < 0) return -1;
    if (!separable) {
        int rc = 0;
        for (int it = 0; it < SIM_MAX_ITER && rc == 0; it++) {
            if (rhs(S, w, k[0])) return -1;
            rc = iterate(S, w, s, h / 2, k[0], NULL, nh, ns);
            if (rc < 0) return -1;
        }
        if (!rc) {
            report_no_convergence(S, "leapfrog (momentum half step)");
            return -1;
        }
        /* k[0] = f(q, p_half) */
    }

    /* q' */
    if (separable) {
        if (S->v_shortcut) {
            for (int b = 0; b < B; b++)
                for (int j = 0; j < nh; j++) {
                    const size_t i = (size_t)b * nc + j;
                    w[i] = s[i] + h * w[i + nh];
                }
        } else {
            if (rhs(S, w, k[0])) return -1;
            if (update(S, w, s, h, k[0], NULL, 0, nh) < 0) return -1;
        }
        if (rhs(S, w, k[1])) return -1;
    } else {
        if (update(S, w, s, h, k[0], NULL, 0, nh) < 0) return -1;   /* explicit guess */
        int rc = 0;
        for (int it = 0; it < SIM_MAX_ITER && rc == 0; it++) {
            if (rhs(S, w, k[1])) return -1;
            rc = iterate(S, w, s, h / 2, k[0], k[1], 0, nh);
            if (rc < 0) return -1;
        }
        if (!rc) {
            report_no_convergence(S, "leapfrog (position step)");
            return -1;
        }
    }
    /* k[1] = f(q', p_half): p' = p_half + h/2 fp(q', p_half) */
    for (int b = 0; b < B; b++)
        memcpy(s + (size_t)b * nc, w + (size_t)b * nc, (size_t)nh * sizeof *s);
    if (update(S, s, w, h / 2, k[1], NULL, nh, ns) < 0) return -1;
    memcpy(S->fp_next + (size_t)nh * B, k[1] + (size_t)nh * B, (size_t)nh * B * sizeof *k[1]);
    S->have_fp_next = 1;
    return 0;
}

/* ------------------------------------------------------------------------ */


/* Choose the declaration and merge the options; returns an exit status or -1. */
static int setup(const physm_layout *lay, const physm_simulate_options *o, physm_sim_setup *su, int system)
{
    const physm_model *m = lay->model;
    const char *prog = lay->prog;
    const physm_dynamics *d = m->dynamics;
    memset(su, 0, sizeof *su);
    if (o->name) {
        for (int i = 0; i < m->n_simulations && !su->decl; i++)
            if (!strcmp(m->simulations[i].name, o->name)) su->decl = &m->simulations[i];
        if (!su->decl) {
            fprintf(stderr, "%s: error: simulate: the model has no simulation '%s' (", prog, o->name);
            if (m->n_simulations == 0) fprintf(stderr, "it declares none");
            for (int i = 0; i < m->n_simulations; i++)
                fprintf(stderr, "%s'%s'", i ? ", " : "simulations: ", m->simulations[i].name);
            fprintf(stderr, ")\n");
            return PHYSM_EXIT_USAGE;
        }
    } else if (m->n_simulations > 0) {
        su->decl = &m->simulations[0];
    }
    const physm_simulation *dc = su->decl;
    su->name = dc ? dc->name : "simulate";
    su->integrator = o->integrator >= 0 ? o->integrator
                     : dc ? (int)dc->integrator
                     : d->kind == PHYSM_DYN_EXPLICIT ? PHYSM_INT_RK4 : PHYSM_INT_LEAPFROG;
    su->dt = o->dt > 0 ? o->dt : dc ? dc->dt : 0;
    su->steps = o->steps > 0 ? o->steps : dc ? dc->steps : 0;
    su->every = o->every > 0 ? o->every : dc ? dc->every : 1;
    su->tol = o->tolerance > 0 ? o->tolerance : dc && dc->tolerance > 0 ? dc->tolerance : SIM_DEFAULT_TOL;
    if (!dc && (!(su->dt > 0) || su->steps < 1 || !o->from)) {
        fprintf(stderr, "%s: error: simulate: the model declares no simulation, so --dt, --steps and --from "
                "are needed (missing:%s%s%s)\n(run '%s --help' for usage)\n", prog, su->dt > 0 ? "" : " --dt",
                su->steps >= 1 ? "" : " --steps", o->from ? "" : " --from", prog);
        return PHYSM_EXIT_USAGE;
    }
    if (su->integrator == PHYSM_INT_LANGEVIN) {
        su->kT = o->temperature > 0 ? PHYSM_BOLTZMANN_EV_PER_K * o->temperature : dc ? dc->kT : 0;
        su->damping = dc && dc->damping > 0 ? dc->damping : 100 * su->dt;
        su->seed = dc && dc->integrator == PHYSM_INT_LANGEVIN ? dc->seed : 1;
        if (!system) {
            fprintf(stderr, "%s: error: simulate: langevin integrates a particle system started from an extxyz "
                    "file (--from FILE.xyz)\n", prog);
            return PHYSM_EXIT_USAGE;
        }
        if (!(su->kT > 0)) {
            fprintf(stderr, "%s: error: simulate: langevin needs a temperature (--temperature K, or "
                    "langevin(..., temperature = T) in the model)\n", prog);
            return PHYSM_EXIT_USAGE;
        }
    }
    if (su->integrator == PHYSM_INT_LEAPFROG && d->n_half == 0 && !system) {
        fprintf(stderr, "%s: error: simulate: leapfrog needs positions and momenta, and the model's dynamics "
                "are explicit (ds/dt = f(s)): use --integrator midpoint or rk4\n", prog);
        return PHYSM_EXIT_USAGE;
    }
    if (o->from) {
        su->from = o->from;
        su->from_path = strdup(o->from);
    } else if (dc->start_file) {
        su->from = dc->start_file;
        su->from_path = physm_resolve_path(m, dc->start_file);
    } else {
        su->start = dc->start;
    }
    const char *to = o->to ? o->to : dc ? dc->out_file : NULL;
    if (to) {
        su->to = strdup(to);
    } else {
        su->to = malloc(strlen(m->name) + strlen(su->name) + 6);
        if (su->to) sprintf(su->to, "%s_%s.csv", m->name, su->name);
    }
    size_t lt = su->to ? strlen(su->to) : 0;
    if (o->npy && !o->to && lt > 4 && !strcmp(su->to + lt - 4, ".csv")) strcpy(su->to + lt - 4, ".npy");
    if (!su->to || (su->from && !su->from_path)) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return PHYSM_EXIT_RUNTIME;
    }
    return -1;
}

int physm_simulate_load_theta(const physm_layout *lay, const physm_simulate_options *o, double *theta)
{
    if (lay->n_theta == 0) return 0;
    if (o->untrained) return physm_layout_fresh(lay, o->seed, theta);
    if (access(o->checkpoint, F_OK) != 0 && errno == ENOENT) {
        fprintf(stderr, "%s: error: simulate: no checkpoint %s: the model has trainable values; train it "
                "first ('%s train') or pass --untrained to simulate with fresh ones\n", lay->prog,
                o->checkpoint, lay->prog);
        return -1;
    }
    return physm_checkpoint_load(lay, o->checkpoint, theta, NULL);
}

static const char *axis_name(int a, int dim, char *buf, size_t size)
{
    if (dim <= 3) snprintf(buf, size, "%c", "xyz"[a]);
    else snprintf(buf, size, "%d", a);
    return buf;
}

/* Measured quantities of the batch at the current step. */
typedef struct {
    double *e;                    /* B: energy */
    double *pm;                   /* (dim + 1) x B: momentum, then sum m|v| */
    double *e0, *p0, *scale0;     /* at step 0 */
    double e_max, e_end, p_max, p_end;
    long e_max_step, p_max_step;
    int e_max_traj, p_max_traj;
} sim_measure;

static int measure(sim_state *S, sim_measure *M, long step)
{
    const int B = S->B, dim = S->d->dim;
    if (S->energy_ev) {
        if (physm_term_eval_run(S->energy_ev, S->theta, S->s, B, M->e)) return -1;
        if (step == 0) memcpy(M->e0, M->e, (size_t)B * sizeof *M->e);
        M->e_end = 0;
        for (int b = 0; b < B; b++) {
            double r = fabs(M->e[b] - M->e0[b]) / fmax(fabs(M->e0[b]), SIM_TINY);
            if (!(r <= M->e_end)) M->e_end = r;
            if (!(r <= M->e_max)) {
                M->e_max = r;
                M->e_max_step = step;
                M->e_max_traj = b;
            }
        }
    }
    if (S->mom_ev) {
        if (physm_term_eval_run(S->mom_ev, S->theta, S->s, B, M->pm)) return -1;
        if (step == 0)
            for (int b = 0; b < B; b++) {
                for (int a = 0; a < dim; a++) M->p0[(size_t)b * dim + a] = M->pm[(size_t)a * B + b];
                M->scale0[b] = M->pm[(size_t)dim * B + b];
            }
        M->p_end = 0;
        for (int b = 0; b < B; b++) {
            double n2 = 0;
            for (int a = 0; a < dim; a++) {
                double dp = M->pm[(size_t)a * B + b] - M->p0[(size_t)b * dim + a];
                n2 += dp * dp;
            }
            double r = sqrt(n2) / fmax(fabs(M->scale0[b]), SIM_TINY);
            if (!(r <= M->p_end)) M->p_end = r;
            if (!(r <= M->p_max)) {
                M->p_max = r;
                M->p_max_step = step;
                M->p_max_traj = b;
            }
        }
    }
    return 0;
}

/* Output rows are kept until the end and written trajectory by trajectory
 * (each trajectory's rows in time order), the layout trajectory(t) data
 * reads back. A row: step, then the state, energy and momentum. */
typedef struct {
    double *values;               /* [trajectory][row][column] */
    long rows, row;               /* rows per trajectory, rows stored */
    int cols;
} sim_rows;

static void keep_rows(sim_rows *R, const sim_state *S, const sim_measure *M, long step)
{
    const int B = S->B, dim = S->d->dim;
    for (int b = 0; b < B; b++) {
        double *v = R->values + ((size_t)b * R->rows + R->row) * R->cols;
        *v++ = (double)step;
        for (int j = 0; j < S->ns; j++) *v++ = S->s[(size_t)b * S->nc + j];
        if (S->energy_ev) *v++ = M->e[b];
        if (S->mom_ev)
            for (int a = 0; a < dim; a++) *v++ = M->pm[(size_t)a * B + b];
        for (int j = S->ns; j < S->nc; j++) *v++ = S->s[(size_t)b * S->nc + j]; /* masses: trajectory(t) reads them */
    }
    R->row++;
}

static void write_rows(FILE *out, const sim_rows *R, int B, double h)
{
    for (int b = 0; b < B; b++)
        for (long r = 0; r < R->row; r++) {
            const double *v = R->values + ((size_t)b * R->rows + r) * R->cols;
            long step = (long)v[0];
            fprintf(out, "%d,%ld,%.17g", b, step, (double)step * h);
            for (int c = 1; c < R->cols; c++) fprintf(out, ",%.17g", v[c]);
            fputc('\n', out);
        }
}

/* The rows as .npy records: trajectory, step, t, the values. */
static void write_rows_npy(FILE *out, const sim_rows *R, int B, double h)
{
    for (int b = 0; b < B; b++)
        for (long r = 0; r < R->row; r++) {
            const double *v = R->values + ((size_t)b * R->rows + r) * R->cols;
            const double head[3] = {(double)b, v[0], (double)(long)v[0] * h};
            fwrite(head, sizeof(double), 3, out);
            fwrite(v + 1, sizeof(double), (size_t)R->cols - 1, out);
        }
}

int physm_simulate(const physm_layout *lay, const physm_simulate_options *o)
{
    const physm_model *m = lay->model;
    const char *prog = lay->prog;
    const physm_dynamics *d = m->dynamics;
    if (!d) {
        fprintf(stderr, "%s: error: simulate: the model '%s' has no dynamics to integrate\n", prog, m->name);
        return PHYSM_EXIT_USAGE;
    }
    /* Particles too many for a state point run as a system; so does any
     * particle model started from an extxyz file. */
    const char *from = o->from ? o->from : NULL;
    for (int i = 0; !from && i < m->n_simulations; i++)
        if (!o->name || !strcmp(o->name, m->simulations[i].name)) from = m->simulations[i].start_file;
    size_t len = from ? strlen(from) : 0;
    int system = m->system && (!d->rhs || (len > 4 && !strcmp(from + len - 4, ".xyz")) ||
                               (len > 7 && !strcmp(from + len - 7, ".extxyz")));
    physm_sim_setup su;
    int status = setup(lay, o, &su, system);
    if (status < 0 && system) status = physm_simulate_system(lay, o, &su);
    if (status >= 0) {
        free(su.from_path);
        free(su.to);
        return status;
    }
    status = PHYSM_EXIT_RUNTIME;

    sim_state S;
    sim_measure M;
    sim_rows R;
    memset(&S, 0, sizeof S);
    memset(&M, 0, sizeof M);
    memset(&R, 0, sizeof R);
    double *theta = NULL, *start = NULL;
    char *tmp = NULL;
    FILE *out = NULL;
    char (*names)[64] = NULL;      /* output column names */
    physm_progress pr;
    physm_progress_init(&pr, m, stderr, 1, 0, 1);

    const int nc = d->n_state + d->n_aux;
    int B = 1;
    if (su.from) {
        if (!o->from && access(su.from_path, F_OK) != 0) {   /* the declaration's file, moved away */
            fprintf(stderr, "%s: error: simulate %s: start file %s not found: no %s (the model's path, resolved "
                    "against %s, the directory of the .phys file it was compiled from)\n  give it with "
                    "'--from FILE' (or '--data %s=FILE')\n", prog, su.name, su.from, su.from_path,
                    m->source_dir ? m->source_dir : ".", su.from);
            goto done;
        }
        if (physm_csv_read(su.from_path, su.from, nc, d->names, &start, &B)) goto done;
    } else {
        start = malloc((size_t)nc * sizeof *start);
        if (!start) goto oom;
        memcpy(start, su.start, (size_t)nc * sizeof *start);
        for (int j = 0; j < nc; j++)
            if (!isfinite(start[j])) {
                fprintf(stderr, "%s: error: simulate: the start value of %s is not finite\n", prog, d->names[j]);
                goto done;
            }
    }
    theta = calloc(lay->n_theta + 1, sizeof *theta);
    if (!theta) goto oom;
    if (physm_simulate_load_theta(lay, o, theta)) goto done;

    S.lay = lay;
    S.d = d;
    S.prog = prog;
    S.theta = theta;
    S.B = B;
    S.nc = nc;
    S.ns = d->n_state;
    S.nh = d->n_half;
    S.h = su.dt;
    S.tol = su.tol;
    S.v_shortcut = -1;
    S.s = start;
    start = NULL;
    S.w = malloc((size_t)B * nc * sizeof *S.w);
    S.x = malloc((size_t)B * nc * sizeof *S.x);
    for (int i = 0; i < 4; i++) S.k[i] = malloc((size_t)B * S.ns * sizeof *S.k[i]);
    S.fp_next = malloc((size_t)B * S.ns * sizeof *S.fp_next);
    M.e = malloc((size_t)B * sizeof *M.e);
    M.e0 = malloc((size_t)B * sizeof *M.e0);
    M.pm = malloc((size_t)B * (d->dim + 1) * sizeof *M.pm);
    M.p0 = malloc(((size_t)B * d->dim + 1) * sizeof *M.p0);
    M.scale0 = malloc((size_t)B * sizeof *M.scale0);
    if (!S.w || !S.x || !S.k[0] || !S.k[1] || !S.k[2] || !S.k[3] || !S.fp_next || !M.e || !M.e0 || !M.pm ||
        !M.p0 || !M.scale0)
        goto oom;
    memcpy(S.w, S.s, (size_t)B * nc * sizeof *S.w);   /* the aux components never change */
    memcpy(S.x, S.s, (size_t)B * nc * sizeof *S.x);
    S.rhs_ev = physm_term_eval_create(lay, d->rhs, B);
    if (!S.rhs_ev) goto done;
    if (d->energy && !(S.energy_ev = physm_term_eval_create(lay, d->energy, B))) goto done;
    if (d->momentum && !(S.mom_ev = physm_term_eval_create(lay, d->momentum, B))) goto done;

    /* the output file */
    tmp = malloc(strlen(su.to) + 5);
    if (!tmp) goto oom;
    sprintf(tmp, "%s.tmp", su.to);
    out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", prog, tmp, strerror(errno));
        goto done;
    }
    R.rows = su.steps / su.every + 2;
    R.cols = 1 + nc + (S.energy_ev ? 1 : 0) + (S.mom_ev ? d->dim : 0);
    /* the column names: trajectory, step, t, then R.cols - 1 values */
    names = calloc((size_t)R.cols + 2, sizeof *names);
    if (!names) goto oom;
    int k_name = 0;
    strcpy(names[k_name++], "trajectory");
    strcpy(names[k_name++], "step");
    strcpy(names[k_name++], "t");
    for (int j = 0; j < S.ns; j++) snprintf(names[k_name++], sizeof names[0], "%s", d->names[j]);
    if (S.energy_ev) strcpy(names[k_name++], "energy");
    if (S.mom_ev)
        for (int a = 0; a < d->dim; a++) {
            char ax[16];
            snprintf(names[k_name++], sizeof names[0], "P_%s", axis_name(a, d->dim, ax, sizeof ax));
        }
    for (int j = S.ns; j < nc; j++) snprintf(names[k_name++], sizeof names[0], "%s", d->names[j]);
    if (!o->npy) {
        for (int k = 0; k < k_name; k++) fprintf(out, k ? ",%s" : "%s", names[k]);
        fputc('\n', out);
    }
    if ((double)R.rows * B * R.cols * sizeof(double) > (double)(1ul << 31)) {
        fprintf(stderr, "%s: error: simulate: %ld output rows of %d trajectories would take more than 2 GiB; "
                        "write fewer (--every)\n", prog, R.rows, B);
        goto done;
    }
    R.values = malloc((size_t)R.rows * (size_t)B * (size_t)R.cols * sizeof *R.values);
    if (!R.values) goto oom;
    char what[256];
    snprintf(what, sizeof what, "simulate %s", su.name);
    physm_progress_init(&pr, m, stderr, o->quiet, 0, su.steps);
    const double t0 = physm_now();
    if (measure(&S, &M, 0)) goto eval_failed;
    keep_rows(&R, &S, &M, 0);
    for (long k = 1; k <= su.steps; k++) {
        S.step = k;
        int rc = su.integrator == PHYSM_INT_RK4 ? step_rk4(&S)
                 : su.integrator == PHYSM_INT_MIDPOINT ? step_midpoint(&S)
                 : step_leapfrog(&S);
        if (rc) {
            physm_progress_break(&pr);
            goto done;
        }
        for (int b = 0; b < B; b++)
            for (int j = 0; j < S.ns; j++)
                if (!isfinite(S.s[(size_t)b * nc + j])) {
                    physm_progress_break(&pr);
                    report_not_finite(&S, b, j, S.s[(size_t)b * nc + j]);
                    goto done;
                }
        if (measure(&S, &M, k)) goto eval_failed;
        if (k % su.every == 0 || k == su.steps) keep_rows(&R, &S, &M, k);
        physm_progress_steps(&pr, k, what);
    }
    const double seconds = physm_now() - t0;
    physm_progress_break(&pr);
    if (o->npy) {
        const char **ptrs = calloc((size_t)k_name, sizeof *ptrs);
        if (!ptrs) goto oom;
        for (int k = 0; k < k_name; k++) ptrs[k] = names[k];
        int hrc = physm_npy_write_header(out, k_name, ptrs, (long)B * R.row);
        free(ptrs);
        if (hrc == 0) write_rows_npy(out, &R, B, S.h);
    } else {
        write_rows(out, &R, B, S.h);
    }
    int werr = ferror(out);
    if (fclose(out) != 0) werr = 1;
    out = NULL;
    if (werr || rename(tmp, su.to) != 0) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", prog, werr ? tmp : su.to, strerror(errno));
        remove(tmp);
        goto done;
    }

    if (!o->quiet) {
        printf("simulate %s: %s, dt %g, %ld steps, %d trajector%s, %ld rhs evaluations, %.3f s; wrote %s\n",
               su.name, physm_integrator_name(su.integrator), su.dt, su.steps, B, B == 1 ? "y" : "ies", S.evals,
               seconds, su.to);
        if (S.energy_ev)
            printf("energy: max relative drift %.3g (trajectory %d, step %ld), at the end %.3g\n", M.e_max,
                   M.e_max_traj, M.e_max_step, M.e_end);
        if (S.mom_ev)
            printf("momentum: max relative drift %.3g (trajectory %d, step %ld), at the end %.3g\n", M.p_max,
                   M.p_max_traj, M.p_max_step, M.p_end);
        if (d->conserve_energy) {
            if (S.energy_ev) printf("conserve energy: max relative drift %.3g over %ld steps\n", M.e_max, su.steps);
            else printf("conserve energy: not measured, the model defines no energy\n");
        }
        if (d->conserve_momentum) {
            if (S.mom_ev)
                printf("conserve momentum: max relative drift %.3g over %ld steps\n", M.p_max, su.steps);
            else printf("conserve momentum: not measured, the model defines no momentum\n");
        }
        if (fflush(stdout) != 0) goto done;
    }
    status = PHYSM_EXIT_OK;
    goto done;
eval_failed:
    physm_progress_break(&pr);
    fprintf(stderr, "%s: error: cannot evaluate the energy or momentum\n", prog);
    goto done;
oom:
    fprintf(stderr, "%s: error: out of memory\n", prog);
done:
    if (out) {
        fclose(out);
        remove(tmp);
    }
    physm_term_eval_destroy(S.rhs_ev);
    physm_term_eval_destroy(S.energy_ev);
    physm_term_eval_destroy(S.mom_ev);
    free(S.s);
    free(S.w);
    free(S.x);
    for (int i = 0; i < 4; i++) free(S.k[i]);
    free(S.fp_next);
    free(M.e);
    free(M.e0);
    free(M.pm);
    free(M.p0);
    free(M.scale0);
    free(R.values);
    free(names);
    free(start);
    free(theta);
    free(tmp);
    free(su.from_path);
    free(su.to);
    return status;
}
