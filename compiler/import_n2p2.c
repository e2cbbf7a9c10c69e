/* physc import-n2p2 DIR -o NAME: an n2p2 potential (DIR/input.nn,
 * DIR/scaling.data, DIR/weights.ZZZ.data) as a physc model. Writes
 * NAME.phys, an atomic(mlp(...), descriptor = acsf(functions = [...]))
 * whose functions are input.nn's symmetry functions in n2p2's order (per
 * element: sorted by type, cutoff, eta, rs, zeta, lambda, neighbours),
 * and NAME.ckpt, its trained values: the weights, and per element the
 * scaling of scaling.data as physc's affine (G - shift) * factor. The
 * checkpoint carries the structure hash of the model lowered here from
 * the written source, so `physc NAME.phys -o NAME` gives the program that
 * loads it. Normalisation (mean_energy, conv_energy, conv_length) and
 * atom_energy are folded into each network's linear output layer:
 * E_i = net_i / conv_energy + mean_energy + atom_energy(element). The
 * symmetry function parameters of input.nn are in physical units (n2p2
 * converts them itself), so they are written as they are.
 *
 * Every error is `file:line: error: message` and exit status 1. */
#include "import_n2p2.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ast.h"
#include "lower.h"
#include "physrt.h"
#include "sema.h"

enum { N2_MAX_EL = 8, N2_MAX_LAYERS = 16, N2_MAX_TOK = 32 };

typedef struct {
    int type;                 /* 2, 3, 9 */
    int e[3];                 /* centre, neighbours: element indices (by atomic number) */
    double eta, rs, zeta, lambda, rc;
} n2_sf;

typedef struct {
    int n_el;
    char el[N2_MAX_EL][4];
    int z[N2_MAX_EL];
    int cutoff_type;
    double alpha;
    int n_hidden, nodes[N2_MAX_LAYERS];
    char act[N2_MAX_LAYERS + 1];
    int scaling;              /* 0 none, 1 scale, 2 center, 3 scale+center, 4 sigma */
    double smin, smax;
    int normalize;
    double mean_energy, conv_energy, conv_length;
    double atom_energy[N2_MAX_EL];
    n2_sf *sf[N2_MAX_EL];
    int n_sf[N2_MAX_EL];
    /* lines of what must be consistent, for the errors */
    int line_elements, line_nodes, line_act, line_cutoff;
} n2_pot;

static int fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (line > 0) fprintf(stderr, "%s:%d: error: ", file, line);
    else fprintf(stderr, "%s: error: ", file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) exit(70);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The tokens of a line without its comment (# onwards); their count. */
static int tokens(char *line, char **tok)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    int n = 0;
    for (char *p = line; *p && n < N2_MAX_TOK;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        tok[n++] = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = 0;
    }
    return n;
}

static int number(const char *file, int line, const char *s, const char *what, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(*out)) return fail(file, line, "%s is not a number: '%s'", what, s);
    return 0;
}

static int element_of(const n2_pot *p, const char *sym)
{
    for (int e = 0; e < p->n_el; e++)
        if (!strcmp(p->el[e], sym)) return e;
    return -1;
}

/* Keywords that change what n2p2 predicts and that physc does not do. */
static const char *const unsupported[] = {
    "element_nodes_short", "element_activation_short", "normalize_nodes", "use_electrostatics",
    "electrostatic_type", "global_hidden_layers_charge", "global_nodes_charge", "global_activation_charge",
    "symfunction_short_group", "four_pi_epsilon", "ewald_truncation_error_method", NULL,
};

/* Read before the symmetry functions: elements first (n2p2 orders them by
 * atomic number; indices and weight files follow that order). */
static int read_elements(const char *file, FILE *in, n2_pot *p)
{
    char buf[4096], *tok[N2_MAX_TOK];
    int line = 0, declared = -1, line_declared = 0;
    while (fgets(buf, sizeof buf, in)) {
        line++;
        int n = tokens(buf, tok);
        if (n >= 2 && !strcmp(tok[0], "number_of_elements")) declared = atoi(tok[1]), line_declared = line;
        if (n < 1 || strcmp(tok[0], "elements")) continue;
        if (n - 1 > N2_MAX_EL) return fail(file, line, "more than %d elements", N2_MAX_EL);
        p->n_el = 0;
        for (int k = 1; k < n; k++) {
            int z = physrt_element_z(tok[k]);
            if (!z || strlen(tok[k]) > 3) return fail(file, line, "'%s' is not a chemical element", tok[k]);
            int at = p->n_el++;
            while (at > 0 && p->z[at - 1] > z) { /* sorted by atomic number */
                memcpy(p->el[at], p->el[at - 1], 4);
                p->z[at] = p->z[at - 1];
                at--;
            }
            snprintf(p->el[at], 4, "%s", tok[k]);
            p->z[at] = z;
        }
        p->line_elements = line;
    }
    if (!p->n_el) return fail(file, 0, "no 'elements' line");
    if (declared >= 0 && declared != p->n_el)
        return fail(file, line_declared, "number_of_elements %d but %d elements", declared, p->n_el);
    return 0;
}

static int read_input_nn(const char *file, n2_pot *p)
{
    FILE *in = fopen(file, "r");
    if (!in) return fail(file, 0, "cannot open: %s", strerror(errno));
    int rc = read_elements(file, in, p);
    rewind(in);
    char buf[4096], *tok[N2_MAX_TOK];
    int line = 0, norm[3] = {0, 0, 0}, scale_flags[3] = {0, 0, 0};
    p->cutoff_type = -1;
    p->smin = 0, p->smax = 1;
    while (!rc && fgets(buf, sizeof buf, in)) {
        line++;
        int n = tokens(buf, tok);
        if (!n) continue;
        const char *k = tok[0];
        double v;
        for (int u = 0; unsupported[u]; u++)
            if (!strcmp(k, unsupported[u])) rc = fail(file, line, "'%s' is not supported by physc's import", k);
        if (rc) break;
        if (!strcmp(k, "nnp_generation") || !strcmp(k, "nnp_type")) {
            if (n < 2 || (strcmp(tok[1], "2") && strcasecmp(tok[1], "2G-HDNNP") && strcasecmp(tok[1], "HDNNP_2G")))
                rc = fail(file, line, "%s %s: only second-generation potentials (2) are supported", k, n > 1 ? tok[1] : "");
        } else if (!strcmp(k, "cutoff_type")) {
            if (n < 2 || number(file, line, tok[1], "the cutoff type", &v)) rc = rc ? rc : 1;
            else if (v != floor(v) || v < 0 || v > 8) rc = fail(file, line, "cutoff_type %s is not one of n2p2's 0..8", tok[1]);
            else p->cutoff_type = (int)v, p->line_cutoff = line;
            if (!rc && n > 2) rc = number(file, line, tok[2], "the cutoff parameter alpha", &p->alpha);
            if (!rc && !(p->alpha >= 0 && p->alpha < 1))
                rc = fail(file, line, "the cutoff parameter alpha is in [0, 1), got %g", p->alpha);
        } else if (!strcmp(k, "global_hidden_layers_short")) {
            if (n < 2 || number(file, line, tok[1], "the number of hidden layers", &v)) rc = rc ? rc : 1;
            else if (v != floor(v) || v < 1 || v > N2_MAX_LAYERS - 1)
                rc = fail(file, line, "the number of hidden layers is 1..%d, got %s", N2_MAX_LAYERS - 1, tok[1]);
            else p->n_hidden = (int)v;
        } else if (!strcmp(k, "global_nodes_short")) {
            p->line_nodes = line;
            if (n - 1 > N2_MAX_LAYERS) rc = fail(file, line, "too many layers");
            for (int i = 1; !rc && i < n; i++) {
                if (number(file, line, tok[i], "a layer width", &v)) rc = 1;
                else if (v != floor(v) || v < 1 || v > 100000) rc = fail(file, line, "a layer width is a positive count, got %s", tok[i]);
                else p->nodes[i - 1] = (int)v;
            }
            p->nodes[N2_MAX_LAYERS - 1] = n - 1; /* how many were given */
        } else if (!strcmp(k, "global_activation_short")) {
            p->line_act = line;
            if (n - 1 > N2_MAX_LAYERS) rc = fail(file, line, "too many layers");
            for (int i = 1; !rc && i < n; i++) {
                if (strlen(tok[i]) != 1 || !strchr("ltsprgcSeh", tok[i][0]))
                    rc = fail(file, line, "'%s' is not an n2p2 activation (l t s p r g c S e h)", tok[i]);
                else p->act[i - 1] = tok[i][0];
            }
            p->act[n - 1] = 0;
        } else if (!strcmp(k, "scale_symmetry_functions")) scale_flags[0] = 1;
        else if (!strcmp(k, "center_symmetry_functions")) scale_flags[1] = 1;
        else if (!strcmp(k, "scale_symmetry_functions_sigma")) scale_flags[2] = 1;
        else if (!strcmp(k, "scale_min_short") || !strcmp(k, "scale_max_short")) {
            if (n < 2) rc = fail(file, line, "%s needs a value", k);
            else rc = number(file, line, tok[1], k, !strcmp(k, "scale_min_short") ? &p->smin : &p->smax);
        } else if (!strcmp(k, "mean_energy") || !strcmp(k, "conv_energy") || !strcmp(k, "conv_length")) {
            const int w = k[0] == 'm' ? 0 : k[5] == 'e' ? 1 : 2;
            double *dst = w == 0 ? &p->mean_energy : w == 1 ? &p->conv_energy : &p->conv_length;
            if (n < 2) rc = fail(file, line, "%s needs a value", k);
            else rc = number(file, line, tok[1], k, dst);
            if (!rc && w > 0 && !(*dst > 0)) rc = fail(file, line, "%s must be positive", k);
            norm[w] = line;
        } else if (!strcmp(k, "atom_energy")) {
            int e = n >= 3 ? element_of(p, tok[1]) : -1;
            if (n < 3) rc = fail(file, line, "atom_energy takes an element and an energy");
            else if (e < 0) rc = fail(file, line, "atom_energy of '%s', which is not in 'elements'", tok[1]);
            else rc = number(file, line, tok[2], "the atom energy", &p->atom_energy[e]);
        } else if (!strcmp(k, "symfunction_short")) {
            int ec = n >= 3 ? element_of(p, tok[0 + 1]) : -1;
            if (n < 3) {
                rc = fail(file, line, "symfunction_short takes an element, a type and its parameters");
                break;
            }
            if (ec < 0) {
                rc = fail(file, line, "symmetry function of '%s', which is not in 'elements'", tok[1]);
                break;
            }
            n2_sf s = {0};
            s.e[0] = ec;
            s.type = atoi(tok[2]);
            if (strcmp(tok[2], "2") && strcmp(tok[2], "3") && strcmp(tok[2], "9")) {
                rc = fail(file, line, "symmetry function type %s is not supported (physc imports types 2, 3 and 9)", tok[2]);
                break;
            }
            const int ang = s.type != 2, need = ang ? 9 : 7;
            if (n != need && !(ang && n == need + 1) && !(!ang && n == need)) {
                rc = fail(file, line, "a type %d symmetry function is: element %d %s, got %d fields", s.type, s.type,
                          ang ? "e1 e2 eta lambda zeta rc [rs]" : "e1 eta rs rc", n - 1);
                break;
            }
            for (int j = 0; j < (ang ? 2 : 1); j++)
                if ((s.e[1 + j] = element_of(p, tok[3 + j])) < 0) {
                    rc = fail(file, line, "neighbour element '%s' is not in 'elements'", tok[3 + j]);
                    break;
                }
            if (rc) break;
            if (!ang) {
                s.e[2] = s.e[1];
                rc = number(file, line, tok[4], "eta", &s.eta) || number(file, line, tok[5], "rs", &s.rs) ||
                     number(file, line, tok[6], "the cutoff", &s.rc);
            } else {
                rc = number(file, line, tok[5], "eta", &s.eta) || number(file, line, tok[6], "lambda", &s.lambda) ||
                     number(file, line, tok[7], "zeta", &s.zeta) || number(file, line, tok[8], "the cutoff", &s.rc) ||
                     (n > 9 && number(file, line, tok[9], "rs", &s.rs));
                if (!rc && s.lambda != 1 && s.lambda != -1) rc = fail(file, line, "lambda is -1 or +1, got %g", s.lambda);
                if (s.e[1] > s.e[2]) { /* n2p2 keeps the neighbours in element order */
                    int t = s.e[1];
                    s.e[1] = s.e[2], s.e[2] = t;
                }
            }
            if (!rc && !(s.rc > 0)) rc = fail(file, line, "the cutoff must be positive, got %g", s.rc);
            if (!rc && s.eta < 0) rc = fail(file, line, "eta must not be negative, got %g", s.eta);
            if (rc) break;
            p->sf[ec] = realloc(p->sf[ec], sizeof(n2_sf) * (size_t)(p->n_sf[ec] + 1));
            if (!p->sf[ec]) exit(70);
            p->sf[ec][p->n_sf[ec]++] = s;
        }
    }
    fclose(in);
    if (rc) return rc;
    if (p->cutoff_type < 0) return fail(file, 0, "no 'cutoff_type' line");
    if (!p->n_hidden) return fail(file, 0, "no 'global_hidden_layers_short' line");
    if (p->nodes[N2_MAX_LAYERS - 1] != p->n_hidden)
        return fail(file, p->line_nodes ? p->line_nodes : 0, "global_nodes_short gives %d widths for %d hidden layers",
                    p->nodes[N2_MAX_LAYERS - 1], p->n_hidden);
    p->nodes[p->n_hidden] = 1; /* the output */
    if ((int)strlen(p->act) != p->n_hidden + 1)
        return fail(file, p->line_act, "global_activation_short needs %d activations (hidden layers and the output)",
                    p->n_hidden + 1);
    for (int i = 1; i < p->n_hidden; i++)
        if (p->act[i] != p->act[0])
            return fail(file, p->line_act, "hidden layers of different activations (%c, %c) are not supported", p->act[0], p->act[i]);
    if (!strchr("ltsprgc", p->act[0]))
        return fail(file, p->line_act, "activation '%c' is not supported (physc has l, t, s, p, r, g, c)", p->act[0]);
    if (p->act[p->n_hidden] != 'l')
        return fail(file, p->line_act, "only a linear output activation (l) is supported, got '%c'", p->act[p->n_hidden]);
    const int nn = !!norm[0] + !!norm[1] + !!norm[2];
    if (nn && nn < 3)
        return fail(file, norm[0] ? norm[0] : norm[1] ? norm[1] : norm[2],
                    "normalisation needs all of mean_energy, conv_energy and conv_length");
    p->normalize = nn == 3;
    if (scale_flags[2] && (scale_flags[0] || scale_flags[1]))
        return fail(file, 0, "scale_symmetry_functions_sigma with scale_ or center_symmetry_functions: n2p2 reads one scaling");
    p->scaling = scale_flags[0] && scale_flags[1] ? 3 : scale_flags[0] ? 1 : scale_flags[1] ? 2 : scale_flags[2] ? 4 : 0;
    for (int e = 0; e < p->n_el; e++)
        if (!p->n_sf[e]) return fail(file, p->line_elements, "element %s has no symmetry function", p->el[e]);
    return 0;
}

/* n2p2's order of an element's symmetry functions (Element::sortSymmetryFunctions). */
static int sf_cmp(const void *pa, const void *pb)
{
    const n2_sf *a = pa, *b = pb;
#define CMP(x) if (a->x != b->x) return a->x < b->x ? -1 : 1
    CMP(type);
    CMP(rc);
    CMP(eta);
    CMP(rs);
    if (a->type != 2) {
        CMP(zeta);
        CMP(lambda);
    }
    CMP(e[1]);
    CMP(e[2]);
#undef CMP
    return 0;
}

/* Per element, 4 nf numbers: shift, factor, min, max (physc's scaling). */
static int read_scaling(const char *file, const n2_pot *p, int nf, double *block)
{
    for (int e = 0; e < p->n_el; e++) {
        double *m = block + (size_t)e * 4 * nf;
        for (int k = 0; k < nf; k++) m[k] = 0, m[nf + k] = 1, m[2 * nf + k] = 1, m[3 * nf + k] = 0;
    }
    if (!p->scaling) return 0;
    FILE *in = fopen(file, "r");
    if (!in) return fail(file, 0, "cannot open: %s (input.nn asks for symmetry function scaling)", strerror(errno));
    char buf[4096], *tok[N2_MAX_TOK];
    int line = 0, e = 0, k = 0, rc = 0;
    while (!rc && fgets(buf, sizeof buf, in)) {
        line++;
        if (buf[0] == '#') continue;
        int n = tokens(buf, tok);
        if (!n) continue;
        if (e >= p->n_el) {
            rc = fail(file, line, "more lines than symmetry functions (%d elements)", p->n_el);
            break;
        }
        if (n < 6) {
            rc = fail(file, line, "a scaling line is: element sf min max mean sigma");
            break;
        }
        if (atoi(tok[0]) != e + 1 || atoi(tok[1]) != k + 1) {
            rc = fail(file, line, "expected element %d symmetry function %d (%s's in n2p2's order), got %s %s", e + 1,
                      k + 1, p->el[e], tok[0], tok[1]);
            break;
        }
        double gmin, gmax, mean, sigma;
        if (number(file, line, tok[2], "min", &gmin) || number(file, line, tok[3], "max", &gmax) ||
            number(file, line, tok[4], "mean", &mean) || number(file, line, tok[5], "sigma", &sigma)) {
            rc = 1;
            break;
        }
        double *m = block + (size_t)e * 4 * nf;
        double shift = 0, factor = 1;
        const double range = p->smax - p->smin;
        switch (p->scaling) {
        case 1: factor = range / (gmax - gmin), shift = gmin; break;
        case 2: shift = mean; break;
        case 3: factor = range / (gmax - gmin), shift = mean; break;
        case 4: factor = range / sigma, shift = mean; break;
        }
        if (!isfinite(factor) || factor == 0) {
            rc = fail(file, line, "symmetry function %d of %s is flat (max = min or sigma 0): n2p2's scaling divides by zero",
                      k + 1, p->el[e]);
            break;
        }
        /* Smin + factor (G - shift) = (G - (shift - Smin / factor)) factor */
        m[k] = shift - p->smin / factor, m[nf + k] = factor, m[2 * nf + k] = gmin, m[3 * nf + k] = gmax;
        if (++k == p->n_sf[e]) e++, k = 0;
    }
    fclose(in);
    if (!rc && e < p->n_el)
        rc = fail(file, line, "ends at element %d symmetry function %d of %d (%s)", e + 1, k + 1, p->n_sf[e], p->el[e]);
    return rc;
}

/* One element's weights in physc's layout (per layer W[out][in], then b),
 * from n2p2's (per layer: for each input, its weight into every unit;
 * then the biases), the output layer scaled by 1/conv_energy and offset. */
static int read_weights(const char *file, const n2_pot *p, int e, double *w, size_t count)
{
    FILE *in = fopen(file, "r");
    if (!in) return fail(file, 0, "cannot open: %s (the weights of %s)", strerror(errno), p->el[e]);
    double *v = malloc(sizeof(double) * (count + 1));
    if (!v) exit(70);
    char buf[4096], *tok[N2_MAX_TOK];
    int line = 0, rc = 0;
    size_t n = 0;
    while (!rc && fgets(buf, sizeof buf, in)) {
        line++;
        if (buf[0] == '#') continue;
        if (tokens(buf, tok) < 1) continue;
        if (n == count) rc = fail(file, line, "more than the %zu weights of the network of input.nn", count);
        else rc = number(file, line, tok[0], "a weight", &v[n++]);
    }
    fclose(in);
    if (!rc && n < count) rc = fail(file, line, "%zu weights, the network of input.nn has %zu", n, count);
    if (rc) {
        free(v);
        return rc;
    }
    size_t src = 0, dst = 0;
    int width_in = p->n_sf[e];
    for (int l = 0; l <= p->n_hidden; l++) {
        const int out = p->nodes[l];
        for (int j = 0; j < width_in; j++)
            for (int k = 0; k < out; k++) w[dst + (size_t)k * width_in + j] = v[src++];
        dst += (size_t)out * width_in;
        for (int k = 0; k < out; k++) w[dst + k] = v[src++];
        dst += out;
        width_in = out;
    }
    free(v);
    /* the output layer: E_i = net_i / conv_energy + mean_energy + atom_energy */
    const int last_in = p->n_hidden ? p->nodes[p->n_hidden - 1] : p->n_sf[e];
    double *wl = w + count - 1 - last_in;
    if (p->normalize)
        for (int j = 0; j <= last_in; j++) wl[j] /= p->conv_energy;
    w[count - 1] += (p->normalize ? p->mean_energy : 0) + p->atom_energy[e];
    return 0;
}

static size_t n_params(const n2_pot *p, int e)
{
    size_t n = 0;
    int in = p->n_sf[e];
    for (int l = 0; l <= p->n_hidden; l++) n += (size_t)p->nodes[l] * (in + 1), in = p->nodes[l];
    return n;
}

/* v as the shortest of %.15g, %.16g, %.17g that reads back as v. */
static const char *shortest(char *buf, size_t cap, double v)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static const char *const cutoff_names[] = {"hard", "cos", "tanhu", "tanh", "exp", "poly1", "poly2", "poly3", "poly4"};

static void write_phys(FILE *out, const n2_pot *p, const char *model, const char *dir)
{
    static const char *const act[128] = {['l'] = "identity", ['t'] = "tanh", ['s'] = "sigmoid", ['p'] = "softplus",
                                         ['r'] = "relu", ['g'] = "gaussian", ['c'] = "cos"};
    double rc = 0;
    for (int e = 0; e < p->n_el; e++)
        for (int k = 0; k < p->n_sf[e]; k++) rc = fmax(rc, p->sf[e][k].rc);
    char b[5][40];
    fprintf(out, "# The n2p2 potential of %s, imported by 'physc import-n2p2': its symmetry\n"
                 "# functions (per element in n2p2's order, the order of its networks' inputs) and\n"
                 "# networks; the trained values (weights, per-element scaling%s) are in the\n"
                 "# checkpoint written beside this file.\n",
            dir, p->normalize ? ", normalisation" : "");
    fprintf(out, "model %s\n", model);
    fprintf(out, "particles atoms with r[3], v[3], species Z\n");
    fprintf(out, "field E(atoms) = atomic(mlp(hidden = [");
    for (int l = 0; l < p->n_hidden; l++) fprintf(out, "%s%d", l ? ", " : "", p->nodes[l]);
    fprintf(out, "], activation = %s),\n    elements = [", act[(int)p->act[0]]);
    for (int e = 0; e < p->n_el; e++) fprintf(out, "%s%s", e ? ", " : "", p->el[e]);
    fprintf(out, "],\n    descriptor = acsf(cutoff = %s, cutoff_function = %s", shortest(b[0], 40, rc),
            cutoff_names[p->cutoff_type]);
    if (p->alpha > 0) fprintf(out, ", cutoff_inner = %s", shortest(b[0], 40, p->alpha));
    fprintf(out, ",\n        functions = [");
    int first = 1;
    for (int e = 0; e < p->n_el; e++)
        for (int k = 0; k < p->n_sf[e]; k++) {
            const n2_sf *s = &p->sf[e][k];
            fprintf(out, "%s\n            ", first ? "" : ",");
            first = 0;
            if (s->type == 2)
                fprintf(out, "g2(%s, %s, eta = %s, rs = %s, cutoff = %s)", p->el[e], p->el[s->e[1]],
                        shortest(b[0], 40, s->eta), shortest(b[1], 40, s->rs), shortest(b[2], 40, s->rc));
            else
                fprintf(out, "%s(%s, %s, %s, eta = %s, zeta = %s, lambda = %g, rs = %s, cutoff = %s)",
                        s->type == 3 ? "g4" : "g5", p->el[e], p->el[s->e[1]], p->el[s->e[2]], shortest(b[0], 40, s->eta),
                        shortest(b[1], 40, s->zeta), s->lambda, shortest(b[2], 40, s->rs), shortest(b[3], 40, s->rc));
        }
    fprintf(out, "]))\n");
    fprintf(out, "symmetry E invariant under translation, rotation, permutation\n");
    fprintf(out, "energy V(atoms) = E(atoms)\nforce F = -grad(V, r)\n");
    fprintf(out, "# MD: the mass of the first element; edit for another (or declare 'mass m' per atom)\n");
    fprintf(out, "dynamics newton(F, mass = %s)\n", shortest(b[4], 40, physrt_element_mass(p->el[0])));
    fprintf(out, "# To train further on frames of your own (extxyz or n2p2's input.data):\n"
                 "# data \"train.xyz\" (V, F)\n");
}

/* physc's checkpoint format (runtime/checkpoint.c, version 1). */
typedef struct {
    unsigned char *p;
    size_t n, cap;
} obuf;

static void put(obuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) exit(70);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u(obuf *b, uint64_t v, int bytes)
{
    unsigned char c[8];
    for (int i = 0; i < bytes; i++) c[i] = (unsigned char)(v >> (8 * i));
    put(b, c, (size_t)bytes);
}

static void put_d(obuf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_u(b, u, 8);
}

static void put_s(obuf *b, const char *s)
{
    put_u(b, strlen(s), 4);
    put(b, s, strlen(s));
}

static int write_checkpoint(const char *path, const lw_model *m, const char *model, double *const *blocks,
                            const size_t *counts)
{
    obuf b = {0};
    put(&b, "PHYSCKPT", 8);
    put_u(&b, 1, 4);
    put_u(&b, 0, 4);
    put_u(&b, m->structure_hash, 8);
    put_u(&b, 0, 8);
    put_d(&b, NAN);
    put_s(&b, model);
    put_u(&b, (uint64_t)m->n_fields, 4);
    for (int f = 0; f < m->n_fields; f++) {
        put_u(&b, 1, 4);
        put_s(&b, m->fields[f].name);
        put_u(&b, counts[f], 8);
        for (size_t q = 0; q < counts[f]; q++) put_d(&b, blocks[f][q]);
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < b.n; i++) h = (h ^ b.p[i]) * 0x100000001b3ull;
    put_u(&b, h, 8);
    FILE *out = fopen(path, "wb");
    int rc = !out || fwrite(b.p, 1, b.n, out) != b.n;
    if (out && fclose(out)) rc = 1;
    free(b.p);
    return rc ? fail(path, 0, "cannot write: %s", strerror(errno)) : 0;
}

/* The structure hash and the fields of the model as physc compiles it. */
static lw_model *lower_written(const char *path, const char *stdlib, phys_source **src, phys_parse *parse,
                               phys_sema **sema, phys_diag *diag)
{
    phys_diag_init(diag, stderr);
    *src = phys_source_load(path, diag);
    if (!*src) return NULL;
    phys_parse_source(*src, diag, parse);
    if (diag->errors) return NULL;
    *sema = phys_sema_create(diag);
    phys_sema_set_library_path(*sema, stdlib);
    phys_sema_check(*sema, parse->program);
    if (diag->errors) return NULL;
    return phys_lower(*sema, parse->program, path, diag, 0);
}

int phys_import_n2p2(const char *dir, const char *name, const char *stdlib)
{
    n2_pot p;
    memset(&p, 0, sizeof p);
    char *nn = join(dir, "input.nn"), *scaling = join(dir, "scaling.data");
    int rc = read_input_nn(nn, &p);
    int nf = 0;
    for (int e = 0; !rc && e < p.n_el; e++) {
        qsort(p.sf[e], (size_t)p.n_sf[e], sizeof(n2_sf), sf_cmp);
        if (p.n_sf[e] > nf) nf = p.n_sf[e];
    }
    if (!rc && nf > LW_MAX_FEATURES)
        rc = fail(nn, 0, "%d symmetry functions of one element: physc takes at most %d", nf, LW_MAX_FEATURES);
    double *scale = rc ? NULL : calloc((size_t)p.n_el * 4 * (size_t)nf, sizeof(double));
    if (!rc) rc = read_scaling(scaling, &p, nf, scale);
    double *w[N2_MAX_EL] = {0};
    size_t counts[N2_MAX_EL] = {0};
    for (int e = 0; !rc && e < p.n_el; e++) {
        char wf[32];
        snprintf(wf, sizeof wf, "weights.%03d.data", p.z[e]);
        char *path = join(dir, wf);
        counts[e] = n_params(&p, e);
        w[e] = calloc(counts[e] + (e == 0 ? (size_t)p.n_el * 4 * nf : 0), sizeof(double));
        if (!w[e]) exit(70);
        rc = read_weights(path, &p, e, w[e], counts[e]);
        free(path);
    }
    /* the model's name: the file name's stem as an identifier */
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    char model[128];
    size_t ml = 0;
    for (const char *c = base; *c && *c != '.' && ml + 1 < sizeof model; c++)
        model[ml++] = isalnum((unsigned char)*c) ? *c : '_';
    model[ml] = 0;
    if (!ml || isdigit((unsigned char)model[0])) snprintf(model, sizeof model, "n2p2");
    size_t nl = strlen(name);
    char *phys = malloc(nl + 8), *ckpt = malloc(nl + 8);
    if (!phys || !ckpt) exit(70);
    snprintf(phys, nl + 8, "%s.phys", name);
    snprintf(ckpt, nl + 8, "%s.ckpt", name);
    if (!rc) {
        FILE *out = fopen(phys, "w");
        if (!out) rc = fail(phys, 0, "cannot write: %s", strerror(errno));
        else {
            write_phys(out, &p, model, dir);
            if (fclose(out)) rc = fail(phys, 0, "cannot write: %s", strerror(errno));
        }
    }
    if (!rc) {
        phys_source *src = NULL;
        phys_parse parse = {0};
        phys_sema *sema = NULL;
        phys_diag diag;
        lw_model *m = lower_written(phys, stdlib, &src, &parse, &sema, &diag);
        if (!m) rc = fail(phys, 0, "the written model does not compile (a bug of the importer)");
        else if (m->n_fields != p.n_el) rc = fail(phys, 0, "the written model has %d networks, not %d", m->n_fields, p.n_el);
        for (int e = 0; !rc && e < p.n_el; e++)
            if (m->fields[e].n_inputs != p.n_sf[e])
                rc = fail(phys, 0, "the network of %s reads %d functions, not %d", p.el[e], m->fields[e].n_inputs, p.n_sf[e]);
        if (!rc) {
            memcpy(w[0] + counts[0], scale, sizeof(double) * (size_t)p.n_el * 4 * nf);
            size_t c2[N2_MAX_EL];
            memcpy(c2, counts, sizeof c2);
            c2[0] += (size_t)p.n_el * 4 * nf;
            rc = write_checkpoint(ckpt, m, model, w, c2);
        }
        if (m) phys_lower_free(m);
        if (sema) phys_sema_destroy(sema);
        phys_parse_free(&parse);
        if (src) phys_source_free(src);
    }
    if (!rc) printf("wrote %s and %s (%d elements, %d networks%s)\n", phys, ckpt, p.n_el, p.n_el,
                    p.normalize ? ", normalisation folded into the output layers" : "");
    for (int e = 0; e < N2_MAX_EL; e++) free(p.sf[e]), free(w[e]);
    free(scale);
    free(nn);
    free(scaling);
    free(phys);
    free(ckpt);
    return rc;
}
