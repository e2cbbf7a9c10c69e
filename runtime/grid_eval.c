/* grid_eval.c - the eval verb: trained fields, their derivatives, the
 * residuals of named equations and the trained constants on a cartesian
 * grid, as CSV (or NumPy .npy) on stdout.
 *
 *   VAR=a:b:n   n >= 1 points from a to b inclusive (n = 1: a)
 *   VAR=a       one point
 *   d(u,x,...)  a derivative column: field u, then 1 to 4 of its inputs
 *   NAME        an equation's residual (lhs - rhs; every coordinate of its
 *               domain given), a trainable constant (the same on every row),
 *               or a const or let of the model (physm_quantities: a let of
 *               formals or of a domain's coordinates needs those on the grid)
 *
 * Columns: the grid variables in the order given, then every field whose
 * inputs are all given (its value; one column per output of a
 * multi-output field), then the requested columns in the order given. The
 * first variable varies slowest. Column names are made NumPy- and
 * pandas-safe by physm_column_name: u_0 for output 0 of u, d_u_x for
 * d(u,x), d_v_x_0 for output 0 of d(v,x), pde_1 for residual 1 of a vector
 * equation. Numbers are printed with %.17g. Usage errors exit 2,
 * checkpoint errors 1.
 *
 * A hard-constrained field (physm_field.n_derivs > 0) is printed through its
 * transform: the network's streams net_streams go through eval_f64, which
 * gives the value and the derivatives listed in derivs (order <= 2); a
 * derivative column of such a field must be one of those. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_BATCH 1024
#define EVAL_MAX_POINTS 100000000.0

typedef struct {
    char name[64];
    double a, b;
    long n;
} grid_var;

typedef enum { COL_DERIV, COL_PARAM, COL_TERM } col_kind;

typedef struct {
    col_kind kind;
    int field;                    /* COL_DERIV: the field; COL_PARAM: the constant; COL_TERM: the term */
    int mi[PHYSRT_MAX_INPUTS];
    char label[160];
    int stream;                   /* index in the field's plan */
    const physm_term *term;       /* COL_TERM: an equation, or a const or let (physm_quantities) */
    physm_term_eval *ev;
    int var_of_coord[64];         /* COL_TERM: grid variable of each coordinate */
    double *points, *r;           /* COL_TERM: batch x n_coords, n_residuals x batch */
} deriv_col;

typedef struct {
    int used, auto_value;
    int var_of_input[PHYSRT_MAX_INPUTS];
    physrt_mlp_eval_f64 *ev;
    double *x, *out;              /* network inputs and streams */
    /* hard-constrained fields: the transform's value and derivatives */
    double *fout;                 /* n_derivs x n_outputs x batch */
    const double **sptr;          /* n_net_streams x n_outputs stream pointers */
    int *net_index;               /* plan index of each net stream */
} field_eval;

static int parse_double(const char *s, double *v)
{
    if (!*s || isspace((unsigned char)*s)) return -1;
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    return *end || !(*v - *v == 0) ? -1 : 0;   /* whole string, finite */
}

static int parse_var(const char *prog, const char *arg, grid_var *gv)
{
    const char *eq = strchr(arg, '=');
    size_t ln = (size_t)(eq - arg);
    if (ln == 0 || ln >= sizeof gv->name) {
        fprintf(stderr, "%s: error: eval: bad grid argument '%s' (expected VAR=a:b:n or VAR=a)\n", prog, arg);
        return -1;
    }
    memcpy(gv->name, arg, ln);
    gv->name[ln] = 0;
    char spec[256];
    if (strlen(eq + 1) >= sizeof spec) {
        fprintf(stderr, "%s: error: eval: bad range for %s: too long\n", prog, gv->name);
        return -1;
    }
    strcpy(spec, eq + 1);
    char *c1 = strchr(spec, ':');
    if (!c1) {
        if (parse_double(spec, &gv->a)) goto bad;
        gv->b = gv->a;
        gv->n = 1;
        return 0;
    }
    *c1 = 0;
    char *c2 = strchr(c1 + 1, ':');
    if (!c2) goto bad;
    *c2 = 0;
    if (parse_double(spec, &gv->a) || parse_double(c1 + 1, &gv->b)) goto bad;
    char *end;
    errno = 0;
    long n = strtol(c2 + 1, &end, 10);
    if (!c2[1] || *end || errno || n < 1) {
        fprintf(stderr, "%s: error: eval: bad point count '%s' for %s (a whole number >= 1)\n", prog, c2 + 1,
                gv->name);
        return -1;
    }
    gv->n = n;
    return 0;
bad:
    fprintf(stderr, "%s: error: eval: bad range '%s' for %s (expected a:b:n with numbers a, b and a count n, "
            "or one number)\n", prog, eq + 1, gv->name);
    return -1;
}

static void list_names(FILE *f, int n, const char *const *names)
{
    for (int i = 0; i < n; i++) fprintf(f, "%s%s", i ? ", " : "", names[i]);
}

static int find_field(const physm_model *m, const char *name)
{
    for (int f = 0; f < m->n_fields; f++)
        if (!strcmp(m->fields[f].name, name)) return f;
    return -1;
}

static int find_input(const physm_field *fd, const char *name)
{
    for (int i = 0; i < fd->n_inputs; i++)
        if (!strcmp(fd->input_names[i], name)) return i;
    return -1;
}

static int parse_column(const physm_model *m, const char *prog, const char *arg, deriv_col *dc)
{
    char buf[256];
    size_t k = 0;
    for (const char *p = arg; *p; p++)
        if (!isspace((unsigned char)*p)) {
            if (k + 1 >= sizeof buf) goto bad;
            buf[k++] = *p;
        }
    buf[k] = 0;
    dc->kind = COL_DERIV;
    if (!(buf[0] == 'd' && buf[1] == '(')) {   /* a name: a trainable constant or an equation */
        snprintf(dc->label, sizeof dc->label, "%.150s", buf);
        int f = find_field(m, buf);
        if (f >= 0) {   /* a field's value: its derivative of order 0 */
            dc->field = f;
            memset(dc->mi, 0, sizeof dc->mi);
            return 0;
        }
        for (int p = 0; p < m->n_params; p++)
            if (!strcmp(m->params[p].name, buf)) {
                dc->kind = COL_PARAM;
                dc->field = p;
                return 0;
            }
        for (int t = 0; t < m->n_terms; t++)
            if (m->terms[t].kind == PHYSM_EQUATION && !strcmp(m->terms[t].name, buf)) {
                dc->kind = COL_TERM;
                dc->term = &m->terms[t];
                return 0;
            }
        for (int q = 0; m->quantities && q < m->quantities->n_lets; q++)
            if (!strcmp(m->quantities->lets[q].name, buf)) {
                dc->kind = COL_TERM;
                dc->term = &m->quantities->lets[q];
                return 0;
            }
        fprintf(stderr, "%s: error: eval: '%s' is not a derivative d(FIELD, INPUT, ...), an equation, a "
                "constant or a let of the model (equations:", prog, arg);
        int any = 0;
        for (int t = 0; t < m->n_terms; t++)
            if (m->terms[t].kind == PHYSM_EQUATION) fprintf(stderr, "%s %s", any++ ? "," : "", m->terms[t].name);
        fprintf(stderr, "%s; trainable constants:", any ? "" : " none");
        for (int p = 0; p < m->n_params; p++) fprintf(stderr, "%s %s", p ? "," : "", m->params[p].name);
        fprintf(stderr, "%s; consts and lets:", m->n_params ? "" : " none");
        const int n_lets = m->quantities ? m->quantities->n_lets : 0;
        for (int q = 0; q < n_lets; q++) fprintf(stderr, "%s %s", q ? "," : "", m->quantities->lets[q].name);
        fprintf(stderr, "%s)\n", n_lets ? "" : " none");
        return -1;
    }
    if (k < 4 || buf[k - 1] != ')') goto bad;
    buf[k - 1] = 0;
    char *parts[8];
    int np = 0;
    for (char *s = buf + 2;;) {
        if (np == 8) {
            fprintf(stderr, "%s: error: eval: '%s': derivatives go up to order %d\n", prog, arg, PHYSRT_MAX_ORDER);
            return -1;
        }
        parts[np++] = s;
        char *c = strchr(s, ',');
        if (!c) break;
        *c = 0;
        s = c + 1;
    }
    for (int i = 0; i < np; i++)
        if (!parts[i][0]) goto bad;
    if (np < 2) goto bad;
    dc->field = find_field(m, parts[0]);
    if (dc->field < 0) {
        fprintf(stderr, "%s: error: eval: unknown field '%s' in '%s' (fields: ", prog, parts[0], arg);
        for (int f = 0; f < m->n_fields; f++) fprintf(stderr, "%s%s", f ? ", " : "", m->fields[f].name);
        fprintf(stderr, ")\n");
        return -1;
    }
    const physm_field *fd = &m->fields[dc->field];
    if (np - 1 > PHYSRT_MAX_ORDER) {
        fprintf(stderr, "%s: error: eval: '%s' has order %d; derivatives go up to order %d\n", prog, arg, np - 1,
                PHYSRT_MAX_ORDER);
        return -1;
    }
    memset(dc->mi, 0, sizeof dc->mi);
    for (int i = 1; i < np; i++) {
        int in = find_input(fd, parts[i]);
        if (in < 0) {
            fprintf(stderr, "%s: error: eval: '%s' is not an input of %s in '%s' (inputs: ", prog, parts[i],
                    fd->name, arg);
            list_names(stderr, fd->n_inputs, fd->input_names);
            fprintf(stderr, ")\n");
            return -1;
        }
        dc->mi[in]++;
    }
    if (fd->n_derivs > 0) {
        int found = 0;
        for (int d = 0; d < fd->n_derivs && !found; d++)
            found = !memcmp(fd->derivs + (size_t)d * fd->n_inputs, dc->mi, (size_t)fd->n_inputs * sizeof(int));
        if (!found) {
            fprintf(stderr, "%s: error: eval: '%s': %s is a transform of its network (hard constraint); "
                    "eval gives its derivatives up to order 2 only\n", prog, arg, fd->name);
            return -1;
        }
    }
    /* canonical label: d(u,x,x) as written, spaces removed */
    int len = snprintf(dc->label, sizeof dc->label, "d(%s", parts[0]);
    for (int i = 1; i < np && len < (int)sizeof dc->label; i++)
        len += snprintf(dc->label + len, sizeof dc->label - (size_t)len, ",%s", parts[i]);
    if (len < (int)sizeof dc->label) snprintf(dc->label + len, sizeof dc->label - (size_t)len, ")");
    return 0;
bad:
    fprintf(stderr, "%s: error: eval: bad column '%s' (expected d(FIELD, INPUT, ...), e.g. d(u,x) or d(u,x,t))\n",
            prog, arg);
    return -1;
}

typedef char col_name[200];

/* The column name of name (output index, or -1 for a scalar). */
static void add_name(col_name *names, int *n, const char *name, int index)
{
    char buf[200];
    if (index >= 0) snprintf(buf, sizeof buf, "%s[%d]", name, index);
    else snprintf(buf, sizeof buf, "%s", name);
    physm_column_name(names[(*n)++], sizeof names[0], buf);
}

int physm_grid_eval(const physm_layout *lay, const char *checkpoint, int n_args, char **args, FILE *out)
{
    return physm_grid_eval_as(lay, checkpoint, n_args, args, out, 0);
}

int physm_grid_eval_as(const physm_layout *lay, const char *checkpoint, int n_args, char **args, FILE *out,
                       int npy)
{
    const physm_model *m = lay->model;
    const char *prog = lay->prog;
    int status = PHYSM_EXIT_USAGE;
    grid_var *vars = calloc((size_t)n_args + 1, sizeof *vars);
    deriv_col *cols = calloc((size_t)n_args + 1, sizeof *cols);
    field_eval *fe = calloc((size_t)m->n_fields + 1, sizeof *fe);
    double *theta = calloc(lay->n_theta + 1, sizeof *theta);
    col_name *names = NULL;
    double *row = NULL;
    int nv = 0, nc = 0;
    if (!vars || !cols || !fe || !theta) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        status = PHYSM_EXIT_RUNTIME;
        goto done;
    }
    for (int i = 0; i < n_args; i++) {
        if (strchr(args[i], '=')) {
            if (parse_var(prog, args[i], &vars[nv])) goto done;
            int known = 0;
            for (int f = 0; f < m->n_fields && !known; f++) known = find_input(&m->fields[f], vars[nv].name) >= 0;
            if (!known) {
                fprintf(stderr, "%s: error: eval: unknown variable '%s' (the fields' inputs are:", prog,
                        vars[nv].name);
                int any = 0;
                for (int f = 0; f < m->n_fields; f++)
                    for (int k = 0; k < m->fields[f].n_inputs; k++) {
                        const char *nm = m->fields[f].input_names[k];
                        int seen = 0;
                        for (int g = 0; g <= f && !seen; g++)
                            for (int j = 0; j < (g == f ? k : m->fields[g].n_inputs) && !seen; j++)
                                seen = !strcmp(m->fields[g].input_names[j], nm);
                        if (!seen) fprintf(stderr, "%s %s", any++ ? "," : "", nm);
                    }
                fprintf(stderr, ")\n");
                goto done;
            }
            for (int j = 0; j < nv; j++)
                if (!strcmp(vars[j].name, vars[nv].name)) {
                    fprintf(stderr, "%s: error: eval: variable '%s' is given twice\n", prog, vars[nv].name);
                    goto done;
                }
            nv++;
        } else {
            if (nc == 64) {
                fprintf(stderr, "%s: error: eval: too many derivative columns (at most 64)\n", prog);
                goto done;
            }
            if (parse_column(m, prog, args[i], &cols[nc])) goto done;
            nc++;
        }
    }
    if (nv == 0) {
        fprintf(stderr, "%s: error: eval: no grid given (e.g. %s=0:1:11)\n", prog,
                m->n_fields > 0 ? m->fields[0].input_names[0] : "x");
        goto done;
    }
    /* Which fields can be evaluated. */
    int n_used = 0;
    for (int f = 0; f < m->n_fields; f++) {
        const physm_field *fd = &m->fields[f];
        int all = 1;
        for (int i = 0; i < fd->n_inputs; i++) {
            fe[f].var_of_input[i] = -1;
            for (int j = 0; j < nv; j++)
                if (!strcmp(vars[j].name, fd->input_names[i])) fe[f].var_of_input[i] = j;
            all &= fe[f].var_of_input[i] >= 0;
        }
        fe[f].auto_value = fe[f].used = all;
        n_used += all;
    }
    /* a field named as a column is already there when its inputs are given */
    int kept = 0;
    for (int c = 0; c < nc; c++) {
        int order = 0;
        for (int i = 0; cols[c].kind == COL_DERIV && i < PHYSRT_MAX_INPUTS; i++) order += cols[c].mi[i];
        if (cols[c].kind == COL_DERIV && order == 0 && fe[cols[c].field].auto_value) continue;
        cols[kept++] = cols[c];
    }
    nc = kept;
    for (int c = 0; c < nc; c++) {
        if (cols[c].kind == COL_TERM) {   /* every coordinate of the equation's domain on the grid */
            const physm_term *tm = cols[c].term;
            int missing = tm->n_coords > 64;
            for (int k = 0; k < tm->n_coords && k < 64; k++) {
                cols[c].var_of_coord[k] = -1;
                for (int j = 0; j < nv; j++)
                    if (!strcmp(vars[j].name, tm->coord_names[k])) cols[c].var_of_coord[k] = j;
                missing |= cols[c].var_of_coord[k] < 0;
            }
            if (missing) {
                fprintf(stderr, "%s: error: eval: %s needs", prog, tm->name);
                for (int k = 0; k < tm->n_coords; k++)
                    if (k >= 64 || cols[c].var_of_coord[k] < 0) fprintf(stderr, " %s=...", tm->coord_names[k]);
                fprintf(stderr, "\n");
                goto done;
            }
        }
        if (cols[c].kind != COL_DERIV) continue;
        const physm_field *fd = &m->fields[cols[c].field];
        if (!fe[cols[c].field].used) {
            fprintf(stderr, "%s: error: eval: missing input for %s: %s(", prog, cols[c].label, fd->name);
            list_names(stderr, fd->n_inputs, fd->input_names);
            fprintf(stderr, ") needs");
            for (int i = 0; i < fd->n_inputs; i++)
                if (fe[cols[c].field].var_of_input[i] < 0) fprintf(stderr, " %s=...", fd->input_names[i]);
            fprintf(stderr, "\n");
            goto done;
        }
    }
    if (n_used == 0) {
        fprintf(stderr, "%s: error: eval: no field has all its inputs given:", prog);
        for (int f = 0; f < m->n_fields; f++) {
            fprintf(stderr, " %s(", m->fields[f].name);
            list_names(stderr, m->fields[f].n_inputs, m->fields[f].input_names);
            fprintf(stderr, ")");
        }
        fprintf(stderr, "\n");
        goto done;
    }
    double total = 1;
    for (int j = 0; j < nv; j++) total *= (double)vars[j].n;
    if (total > EVAL_MAX_POINTS) {
        fprintf(stderr, "%s: error: eval: the grid has %.0f points (at most %.0f)\n", prog, total, EVAL_MAX_POINTS);
        goto done;
    }
    const long n_total = (long)total;

    /* Now the checkpoint (runtime errors from here). */
    status = PHYSM_EXIT_RUNTIME;
    if (physm_checkpoint_load(lay, checkpoint, theta, NULL)) goto done;
    const int batch = n_total < EVAL_BATCH ? (int)n_total : EVAL_BATCH;
    for (int f = 0; f < m->n_fields; f++) {
        if (!fe[f].used) continue;
        const physm_field *fd = &m->fields[f];
        const int ni = fd->n_inputs, no = fd->n_outputs;
        int req[(1 + 64) * PHYSRT_MAX_INPUTS], nr = 1;
        memset(req, 0, sizeof req);
        physrt_jet_plan *plan;
        if (fd->n_derivs > 0) {
            plan = physrt_jet_plan_create(ni, fd->n_net_streams, fd->net_streams);
        } else {
            for (int c = 0; c < nc && nr < 65; c++)
                if (cols[c].kind == COL_DERIV && cols[c].field == f) memcpy(req + nr++ * ni, cols[c].mi, (size_t)ni * sizeof(int));
            plan = physrt_jet_plan_create(ni, nr, req);
        }
        if (plan) fe[f].ev = physrt_mlp_eval_create_f64(&lay->descs[f], plan, batch, NULL);
        physrt_jet_plan_destroy(plan);
        if (!fe[f].ev) {
            fprintf(stderr, "%s: error: cannot evaluate field %s (out of memory?)\n", prog, m->fields[f].name);
            goto done;
        }
        const physrt_jet_plan *ep = physrt_mlp_eval_plan_f64(fe[f].ev);
        for (int c = 0; c < nc; c++)
            if (cols[c].kind == COL_DERIV && cols[c].field == f) {
                if (fd->n_derivs > 0) {
                    for (int d = 0; d < fd->n_derivs; d++)
                        if (!memcmp(fd->derivs + (size_t)d * ni, cols[c].mi, (size_t)ni * sizeof(int)))
                            cols[c].stream = d;
                } else {
                    cols[c].stream = physrt_jet_plan_index(ep, cols[c].mi);
                }
            }
        fe[f].x = malloc((size_t)batch * ni * sizeof(double));
        fe[f].out = malloc((size_t)batch * no * physrt_jet_plan_n_streams(ep) * sizeof(double));
        if (!fe[f].x || !fe[f].out) {
            fprintf(stderr, "%s: error: out of memory\n", prog);
            goto done;
        }
        if (fd->n_derivs > 0) {
            fe[f].fout = malloc((size_t)batch * no * fd->n_derivs * sizeof(double));
            fe[f].sptr = calloc((size_t)fd->n_net_streams * no, sizeof *fe[f].sptr);
            fe[f].net_index = calloc((size_t)fd->n_net_streams, sizeof *fe[f].net_index);
            if (!fe[f].fout || !fe[f].sptr || !fe[f].net_index) {
                fprintf(stderr, "%s: error: out of memory\n", prog);
                goto done;
            }
            for (int s = 0; s < fd->n_net_streams; s++)
                fe[f].net_index[s] = physrt_jet_plan_index(ep, fd->net_streams + (size_t)s * ni);
        }
    }

    for (int c = 0; c < nc; c++)
        if (cols[c].kind == COL_TERM) {
            const physm_term *tm = cols[c].term;
            cols[c].ev = physm_term_eval_create(lay, tm, batch);
            cols[c].points = malloc((size_t)batch * (tm->n_coords + 1) * sizeof(double));
            cols[c].r = malloc((size_t)batch * tm->n_residuals * sizeof(double));
            if (!cols[c].ev || !cols[c].points || !cols[c].r) {
                fprintf(stderr, "%s: error: cannot evaluate %s (out of memory?)\n", prog, tm->name);
                goto done;
            }
        }

    /* Column names. */
    int n_out = nv;
    for (int f = 0; f < m->n_fields; f++) n_out += fe[f].auto_value ? m->fields[f].n_outputs : 0;
    for (int c = 0; c < nc; c++)
        n_out += cols[c].kind == COL_PARAM ? 1
                 : cols[c].kind == COL_TERM ? cols[c].term->n_residuals
                                            : m->fields[cols[c].field].n_outputs;
    names = calloc((size_t)n_out, sizeof *names);
    row = calloc((size_t)n_out, sizeof *row);
    const char **name_ptrs = calloc((size_t)n_out, sizeof *name_ptrs);
    if (!names || !row || !name_ptrs) {
        free(name_ptrs);
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto done;
    }
    int k_out = 0;
    for (int j = 0; j < nv; j++) add_name(names, &k_out, vars[j].name, -1);
    for (int f = 0; f < m->n_fields; f++)
        if (fe[f].auto_value)
            for (int o = 0; o < m->fields[f].n_outputs; o++)
                add_name(names, &k_out, m->fields[f].name, m->fields[f].n_outputs == 1 ? -1 : o);
    for (int c = 0; c < nc; c++) {
        const int no = cols[c].kind == COL_PARAM ? 1
                       : cols[c].kind == COL_TERM ? cols[c].term->n_residuals
                                                  : m->fields[cols[c].field].n_outputs;
        for (int o = 0; o < no; o++) add_name(names, &k_out, cols[c].label, no == 1 ? -1 : o);
    }
    for (int k = 0; k < n_out; k++) name_ptrs[k] = names[k];
    int hrc = 0;
    if (npy) hrc = physm_npy_write_header(out, n_out, name_ptrs, n_total);
    else
        for (int k = 0; k < n_out; k++) fprintf(out, k ? ",%s" : "%s", names[k]);
    if (!npy) fputc('\n', out);
    free(name_ptrs);
    if (hrc) {
        fprintf(stderr, "%s: error: writing the output failed\n", prog);
        goto done;
    }

    double gval[64];
    double *row_vals = malloc((size_t)batch * (nv ? nv : 1) * sizeof(double));
    if (!row_vals || nv > 64) {
        free(row_vals);
        fprintf(stderr, "%s: error: out of memory or too many grid variables\n", prog);
        goto done;
    }
    for (long start = 0; start < n_total; start += batch) {
        const int np = n_total - start < batch ? (int)(n_total - start) : batch;
        for (int p = 0; p < np; p++) {
            long idx = start + p;
            for (int j = nv - 1; j >= 0; j--) {
                long i = idx % vars[j].n;
                idx /= vars[j].n;
                const grid_var *g = &vars[j];
                gval[j] = g->n == 1 ? g->a : i == g->n - 1 ? g->b : g->a + (g->b - g->a) * (double)i / (double)(g->n - 1);
                row_vals[(size_t)p * nv + j] = gval[j];
            }
            for (int f = 0; f < m->n_fields; f++)
                if (fe[f].used)
                    for (int i = 0; i < m->fields[f].n_inputs; i++)
                        fe[f].x[(size_t)p * m->fields[f].n_inputs + i] = gval[fe[f].var_of_input[i]];
            for (int c = 0; c < nc; c++)
                if (cols[c].kind == COL_TERM) {
                    const int ncd = cols[c].term->n_coords;
                    for (int k = 0; k < ncd; k++) cols[c].points[(size_t)p * ncd + k] = gval[cols[c].var_of_coord[k]];
                }
        }
        for (int f = 0; f < m->n_fields; f++) {
            if (!fe[f].used) continue;
            const physm_field *fd = &m->fields[f];
            if (physrt_mlp_forward_f64(fe[f].ev, theta + lay->offset[f], np, fe[f].x, fe[f].out) != PHYSRT_OK) {
                free(row_vals);
                fprintf(stderr, "%s: error: evaluating field %s failed\n", prog, fd->name);
                goto done;
            }
            if (fd->n_derivs > 0) {
                const int no = fd->n_outputs;
                for (int s = 0; s < fd->n_net_streams; s++)
                    for (int o = 0; o < no; o++)
                        fe[f].sptr[s * no + o] = fe[f].out + ((size_t)fe[f].net_index[s] * no + o) * np;
                fd->eval_f64(np, fe[f].x, theta + lay->n_weights, fe[f].sptr, fe[f].fout);
            }
        }
        for (int c = 0; c < nc; c++)
            if (cols[c].kind == COL_TERM && physm_term_eval_run(cols[c].ev, theta, cols[c].points, np, cols[c].r)) {
                free(row_vals);
                fprintf(stderr, "%s: error: evaluating %s failed\n", prog, cols[c].label);
                goto done;
            }
        for (int p = 0; p < np; p++) {
            int k = 0;
            for (int j = 0; j < nv; j++) row[k++] = row_vals[(size_t)p * nv + j];
            for (int f = 0; f < m->n_fields; f++)
                if (fe[f].auto_value) {
                    const double *base = m->fields[f].n_derivs > 0 ? fe[f].fout : fe[f].out;
                    for (int o = 0; o < m->fields[f].n_outputs; o++) row[k++] = base[(size_t)o * np + p];
                }
            for (int c = 0; c < nc; c++) {
                if (cols[c].kind == COL_PARAM) {
                    row[k++] = theta[lay->n_weights + (size_t)cols[c].field];
                } else if (cols[c].kind == COL_TERM) {
                    for (int j = 0; j < cols[c].term->n_residuals; j++)
                        row[k++] = cols[c].r[(size_t)j * np + p];
                } else {
                    const int f = cols[c].field, no = m->fields[f].n_outputs;
                    const double *base = m->fields[f].n_derivs > 0 ? fe[f].fout : fe[f].out;
                    for (int o = 0; o < no; o++) row[k++] = base[((size_t)cols[c].stream * no + o) * np + p];
                }
            }
            if (npy) {
                fwrite(row, sizeof *row, (size_t)n_out, out);
            } else {
                for (int j = 0; j < n_out; j++) fprintf(out, j ? ",%.17g" : "%.17g", row[j]);
                fputc('\n', out);
            }
        }
    }
    free(row_vals);
    if (fflush(out) || ferror(out)) {
        fprintf(stderr, "%s: error: writing the output failed: %s\n", prog, strerror(errno));
        goto done;
    }
    status = PHYSM_EXIT_OK;
done:
    for (int c = 0; c < nc; c++) {
        physm_term_eval_destroy(cols[c].ev);
        free(cols[c].points);
        free(cols[c].r);
    }
    free(names);
    free(row);
    if (fe)
        for (int f = 0; f < m->n_fields; f++) {
            physrt_mlp_eval_destroy_f64(fe[f].ev);
            free(fe[f].x);
            free(fe[f].out);
            free(fe[f].fout);
            free(fe[f].sptr);
            free(fe[f].net_index);
        }
    free(fe);
    free(vars);
    free(cols);
    free(theta);
    return status;
}
