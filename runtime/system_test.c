/* system_test.c - a particle system on frames of atoms: the `test` verb
 * (energies and forces of every frame of an extended XYZ file against the
 * references it holds: RMSE and MAE, energy per atom) and the frame ->
 * configuration conversion that training on frames shares. */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The extxyz property an attribute reads: its name, or ASE's for its role. */
static const physm_xyz_property *property_of(const physm_xyz_frame *x, const physm_attribute *at)
{
    static const char *const by_role[] = {
        [PHYSM_ROLE_POSITION] = "pos", [PHYSM_ROLE_VELOCITY] = "velo", [PHYSM_ROLE_MASS] = "masses",
        [PHYSM_ROLE_CHARGE] = "charges", [PHYSM_ROLE_SPECIES] = "Z",
    };
    const physm_xyz_property *p = physm_xyz_find(x, at->name);
    if (!p && at->role > PHYSM_ROLE_NONE && at->role <= PHYSM_ROLE_SPECIES) p = physm_xyz_find(x, by_role[at->role]);
    return p && p->type != 'S' && p->cols == at->width ? p : NULL;
}

int physm_species_from_xyz(const physm_atomic *an, const char *display, const physm_xyz_frame *x, double *out)
{
    const physm_xyz_property *sp = physm_xyz_find(x, "species");
    if (!sp || sp->type != 'S') {
        fprintf(stderr, "%s:%d: error: the frame has no species column (species:S:1), which the model's networks "
                "need\n", display, x->line);
        return -1;
    }
    for (long i = 0; i < x->n; i++) {
        int e = 0;
        while (e < an->n_elements && strcmp(an->elements[e], sp->text[i])) e++;
        if (e == an->n_elements) {
            fprintf(stderr, "%s:%ld: error: atom %ld is %s, an element the model's networks do not cover (", display,
                    x->line + 2 + i, i + 1, sp->text[i]);
            for (int k = 0; k < an->n_elements; k++) fprintf(stderr, "%s%s", k ? ", " : "", an->elements[k]);
            fprintf(stderr, ")\n");
            return -1;
        }
        out[i] = e;
    }
    return 0;
}

int physm_config_from_xyz(const physm_layout *lay, const char *display, const physm_xyz_frame *x, physm_config *cfg)
{
    const physm_system *s = lay->model->system;
    memset(cfg, 0, sizeof *cfg);
    if (s->n_sets != 1) {
        fprintf(stderr, "%s:%d: error: frames of a model with %d particle sets are not supported yet\n", display,
                x->line, s->n_sets);
        return -1;
    }
    const physm_particle_set *set = &s->sets[0];
    if (set->count >= 0 && set->count != x->n) {
        fprintf(stderr, "%s:%d: error: the model's set %s has %ld particles, the frame has %ld\n", display, x->line,
                set->name, set->count, x->n);
        return -1;
    }
    cfg->count[0] = x->n;
    const physm_atomic *an = s->atomic;
    if (an && an->species_array < 0 && an->elements[0][0]) { /* one named element: every atom must be it */
        const physm_xyz_property *sp = physm_xyz_find(x, "species");
        for (long i = 0; sp && sp->type == 'S' && i < x->n; i++)
            if (strcmp(sp->text[i], an->elements[0])) {
                fprintf(stderr, "%s:%ld: error: atom %ld is %s, but the model's network is for %s only\n", display,
                        x->line + 2 + i, i + 1, sp->text[i], an->elements[0]);
                return -1;
            }
    }
    cfg->arrays = calloc((size_t)s->n_arrays + 1, sizeof *cfg->arrays);
    if (!cfg->arrays) goto oom;
    for (int i = 0; i < set->n_attributes; i++) {
        const physm_attribute *at = &set->attributes[i];
        double *arr = calloc((size_t)(x->n * at->width + 1), sizeof *arr);
        if (!arr) goto oom;
        cfg->arrays[at->array] = arr;
        const physm_atomic *an = s->atomic;
        if (an && at->array == an->species_array) { /* element indices of the networks, from the symbols */
            if (physm_species_from_xyz(an, display, x, arr)) {
                physm_config_free(lay, cfg);
                return -1;
            }
            continue;
        }
        const physm_xyz_property *p = property_of(x, at);
        if (!p && at->role == PHYSM_ROLE_POSITION) {
            fprintf(stderr, "%s:%d: error: the frame has no positions pos:R:%d\n", display, x->line, at->width);
            physm_config_free(lay, cfg);
            return -1;
        }
        if (!p && at->role == PHYSM_ROLE_CHARGE) { /* zero charges would silently switch the Coulomb terms off */
            fprintf(stderr, "%s:%d: error: the frame has no charges column (charges:R:1 or %s:R:1), which the "
                    "model's charge %s needs\n", display, x->line, at->name, at->name);
            physm_config_free(lay, cfg);
            return -1;
        }
        if (p) memcpy(arr, p->values, sizeof(double) * (size_t)(x->n * at->width));
    }
    cfg->cell.dim = s->dim;
    for (int i = 0; i < 3; i++) {
        cfg->cell.periodic[i] = i < s->dim && x->pbc[i];
        for (int j = 0; j < 3; j++) cfg->cell.h[i][j] = x->has_lattice ? x->lattice[i][j] : 0;
    }
    return 0;
oom:
    fprintf(stderr, "%s: error: out of memory reading %s\n", lay->prog, display);
    physm_config_free(lay, cfg);
    return -1;
}

void physm_config_free(const physm_layout *lay, physm_config *cfg)
{
    for (int a = 0; cfg->arrays && a < lay->model->system->n_arrays; a++) free(cfg->arrays[a]);
    free(cfg->arrays);
    cfg->arrays = NULL;
}

/* The frame as read with the model's energy, forces and stress: species,
 * positions, then every other per-atom column of the input (charges,
 * masses, velocities, ...) as it was, then the forces. */
static void write_frame(FILE *out, const physm_xyz_frame *x, const double *pos, double energy, const double *forces,
                        const double *stress)
{
    const physm_xyz_property *sp = physm_xyz_find(x, "species");
    const physm_xyz_property *kept[PHYSM_XYZ_MAX_PROPS];
    int n_kept = 0;
    for (int p = 0; p < x->n_props; p++)
        if (strcmp(x->props[p].name, "species") && strcmp(x->props[p].name, "pos") && strcmp(x->props[p].name, "forces"))
            kept[n_kept++] = &x->props[p];
    fprintf(out, "%ld\n", x->n);
    if (x->has_lattice) {
        fprintf(out, "Lattice=\"");
        for (int i = 0; i < 9; i++) fprintf(out, "%s%.17g", i ? " " : "", x->lattice[i / 3][i % 3]);
        fprintf(out, "\" ");
    }
    fprintf(out, "Properties=species:S:1:pos:R:3");
    for (int k = 0; k < n_kept; k++) fprintf(out, ":%s:%c:%d", kept[k]->name, kept[k]->type, kept[k]->cols);
    fprintf(out, ":forces:R:3 energy=%.17g ", energy);
    if (stress) {
        fprintf(out, "stress=\"");
        for (int i = 0; i < 9; i++) fprintf(out, "%s%.17g", i ? " " : "", stress[i]);
        fprintf(out, "\" ");
    }
    fprintf(out, "pbc=\"%c %c %c\"\n", x->pbc[0] ? 'T' : 'F', x->pbc[1] ? 'T' : 'F', x->pbc[2] ? 'T' : 'F');
    for (long a = 0; a < x->n; a++) {
        fprintf(out, "%s %.17g %.17g %.17g", sp && sp->type == 'S' ? sp->text[a] : "X", pos[a * 3], pos[a * 3 + 1],
                pos[a * 3 + 2]);
        for (int k = 0; k < n_kept; k++)
            for (int c = 0; c < kept[k]->cols; c++) {
                const long q = a * kept[k]->cols + c;
                if (kept[k]->type == 'S') fprintf(out, " %s", kept[k]->text[q]);
                else if (kept[k]->type == 'L') fprintf(out, " %c", kept[k]->values[q] != 0 ? 'T' : 'F');
                else if (kept[k]->type == 'I') fprintf(out, " %.0f", kept[k]->values[q]);
                else fprintf(out, " %.17g", kept[k]->values[q]);
            }
        fprintf(out, " %.17g %.17g %.17g\n", forces[a * 3], forces[a * 3 + 1], forces[a * 3 + 2]);
    }
}

int physm_system_test(const physm_layout *lay, const physm_simulate_options *o, const char *file, const char *write,
                      int threads)
{
    const physm_system *s = lay->model->system;
    const char *prog = lay->prog;
    int status = PHYSM_EXIT_RUNTIME;
    physm_xyz_frame *xyz = NULL;
    int n_frames = 0;
    double *theta = calloc(lay->n_theta + 1, sizeof *theta), *forces = NULL;
    physrt_pool *pool = physrt_pool_create(threads);
    FILE *out = NULL;
    if (!theta || !pool) goto done;
    if (physm_simulate_load_theta(lay, o, theta)) goto done;
    if (s->dim != 3) {
        fprintf(stderr, "%s: error: test: frames of atoms are 3-D; the model's particles have %d numbers\n", prog,
                s->dim);
        goto done;
    }
    if (physm_frames_read_xyz(file, file, &xyz, &n_frames)) goto done;
    if (write && !(out = fopen(write, "w"))) {
        fprintf(stderr, "%s: error: test: cannot write %s\n", prog, write);
        goto done;
    }
    double se_e = 0, ae_e = 0, se_f = 0, ae_f = 0;
    long n_e = 0, n_f = 0, n_s = 0, atoms = 0, extrapolated = 0;
    double se_s = 0;
    for (int f = 0; f < n_frames; f++) {
        const physm_xyz_frame *x = &xyz[f];
        physm_config cfg;
        if (physm_config_from_xyz(lay, file, x, &cfg)) goto done;
        free(forces);
        forces = calloc((size_t)(x->n * 3 + 1), sizeof *forces);
        physm_system_eval *ev = forces ? physm_system_eval_create(lay, cfg.count, pool) : NULL;
        double e = NAN, *fs[8] = {forces}, stress[9], volume = physm_cell_volume(&cfg.cell);
        int rc = ev ? physm_system_eval_run(ev, theta, &cfg, &e, fs) : -1;
        int has_stress = !rc && volume > 0 && s->dim == 3 && s->combine && !physm_system_eval_virial(ev, theta, &cfg, stress);
        for (int q = 0; has_stress && q < 9; q++) stress[q] = -stress[q] / volume; /* ASE: -virial / volume */
        if (ev) extrapolated += physm_system_eval_extrapolated(ev);
        if (rc) fprintf(stderr, "%s:%d: error: test: %s\n", file, x->line, ev ? physm_system_eval_error(ev) : "out of memory");
        physm_system_eval_destroy(ev);
        if (!rc && out) write_frame(out, x, cfg.arrays[s->sets[0].attributes[0].array], e, forces, has_stress ? stress : NULL);
        char ref[512];
        if (has_stress && physm_xyz_info_text(x, "stress", ref, sizeof ref)) {
            double v[9];
            int k = sscanf(ref, "%lf %lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                           &v[7], &v[8]);
            if (k == 6) { /* Voigt xx yy zz yz xz xy */
                double w[9] = {v[0], v[5], v[4], v[5], v[1], v[3], v[4], v[3], v[2]};
                memcpy(v, w, sizeof w);
            }
            if (k == 6 || k == 9)
                for (int q = 0; q < 9; q++) se_s += (stress[q] - v[q]) * (stress[q] - v[q]), n_s++;
        }
        physm_config_free(lay, &cfg);
        if (rc) goto done;
        atoms += x->n;
        double e_ref;
        if (physm_xyz_info_number(x, "energy", &e_ref) == 1 && x->n > 0) {
            double d = (e - e_ref) / (double)x->n;
            se_e += d * d, ae_e += fabs(d), n_e++;
        }
        const physm_xyz_property *fr = physm_xyz_find(x, "forces");
        if (fr && fr->type == 'R' && fr->cols == 3)
            for (long q = 0; q < x->n * 3; q++) {
                double d = forces[q] - fr->values[q];
                se_f += d * d, ae_f += fabs(d), n_f++;
            }
    }
    printf("test %s: %d frames, %ld atoms\n", file, n_frames, atoms);
    if (n_e) printf("energy: rmse %.6g meV/atom, mae %.6g meV/atom (%ld frames)\n", 1e3 * sqrt(se_e / n_e), 1e3 * ae_e / n_e, n_e);
    else printf("energy: no reference energies (energy=)\n");
    if (n_f) printf("forces: rmse %.6g eV/A, mae %.6g eV/A (%ld components)\n", sqrt(se_f / n_f), ae_f / n_f, n_f);
    else printf("forces: no reference forces (forces:R:3)\n");
    if (n_s) printf("stress: rmse %.6g eV/A^3 (%.6g GPa) (%ld components)\n", sqrt(se_s / n_s),
                    160.21766208 * sqrt(se_s / n_s), n_s);
    if (out) printf("wrote %s\n", write);
    if (extrapolated)
        printf("warning: %ld of the %ld atoms have descriptors outside the range of the training frames "
               "(the network extrapolates there)\n", extrapolated, atoms);
    char e_text[32] = "n/a", f_text[32] = "n/a";
    if (n_e) snprintf(e_text, sizeof e_text, "%.6g", 1e3 * sqrt(se_e / n_e));
    if (n_f) snprintf(f_text, sizeof f_text, "%.6g", sqrt(se_f / n_f));
    if (n_e || n_f) printf("rmse: energy %s meV/atom, forces %s eV/A\n", e_text, f_text);
    status = 0;
done:
    if (out && fclose(out) && !status) {
        fprintf(stderr, "%s: error: test: writing %s failed\n", prog, write);
        status = PHYSM_EXIT_RUNTIME;
    }
    physm_xyz_free(xyz, n_frames);
    physrt_pool_destroy(pool);
    free(theta);
    free(forces);
    return status;
}
