/* plot.c - the plot verb: PNG pictures drawn by gnuplot.
 *
 *   plot history [FILE]          the loss history (FILE.history.csv beside the
 *                                checkpoint): every term and the total over
 *                                the steps, log scale
 *   plot VAR=a:b:n [VAR=a:b:n] [COLUMN]
 *                                a field (the first one whose inputs are
 *                                given, or COLUMN as eval takes it) over a
 *                                1-D grid as a line, over a 2-D grid as a
 *                                heat map (first VAR across, second up)
 *   plot trajectory [FILE]       simulate's output: each state component over t
 *   plot energy [FILE]           simulate's output: the relative energy drift
 *                                (E - E(0)) / |E(0)| over t
 *
 * The data go to a temporary CSV file that gnuplot (found on PATH, or the
 * program named by $GNUPLOT) reads; the PNG goes to --out FILE, by default
 * PROGRAM_WHAT.png. Without gnuplot: a named error saying how to get it. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* gnuplot's path into buf: $GNUPLOT, else the first on PATH; 0 if found. */
static int find_gnuplot(char *buf, size_t size)
{
    const char *env = getenv("GNUPLOT");
    if (env && env[0]) {
        snprintf(buf, size, "%s", env);
        return access(buf, X_OK);
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        const char *c = strchr(p, ':');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        snprintf(buf, size, "%.*s/gnuplot", (int)n, n ? p : ".");
        if (access(buf, X_OK) == 0) return 0;
        p += n + (c != NULL);
    }
    return -1;
}

/* Runs gnuplot on script text; 0 when it succeeded and wrote png. */
static int run_gnuplot(const char *prog, const char *gnuplot, const char *script, const char *png)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s'", gnuplot);
    FILE *g = popen(cmd, "w");
    if (!g) {
        fprintf(stderr, "%s: error: plot: cannot run %s: %s\n", prog, gnuplot, strerror(errno));
        return -1;
    }
    fputs(script, g);
    int st = pclose(g);
    if (st != 0 || access(png, F_OK) != 0) {
        fprintf(stderr, "%s: error: plot: gnuplot failed (status %d); no %s written\n", prog,
                WIFEXITED(st) ? WEXITSTATUS(st) : st, png);
        return -1;
    }
    return 0;
}

/* A temporary file for the data: its name into path (caller removes it). */
static FILE *temp_data(char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/physm-plot-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    return fd < 0 ? NULL : fdopen(fd, "w");
}

/* The 1-based column of name in the header (first line) of a CSV file, 0 if absent. */
static int header_column(const char *file, const char *name, int *n_cols)
{
    FILE *f = fopen(file, "r");
    char line[8192];
    int found = 0, k = 0;
    if (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *save = NULL;
        for (char *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            k++;
            if (!found && !strcmp(tok, name)) found = k;
        }
    }
    if (f) fclose(f);
    if (n_cols) *n_cols = k;
    return found;
}

static const char *const PNG_TERMINAL = "set terminal pngcairo size 960,640 noenhanced font ',11'\n";

int physm_plot(const physm_layout *lay, const char *checkpoint, int n_args, char **args, const char *out_png)
{
    const physm_model *m = lay->model;
    const char *prog = lay->prog;
    const char *what = n_args > 0 ? args[0] : "";
    char gnuplot[4096], png[4096], data[4096] = "", script[8192];
    int status = PHYSM_EXIT_RUNTIME, sn = 0;
    if (n_args == 0) {
        fprintf(stderr, "%s: error: plot: say what to plot: history, VAR=a:b:n ..., trajectory or energy\n"
                "(run '%s --help' for usage)\n", prog, prog);
        return PHYSM_EXIT_USAGE;
    }
    const int is_grid = strchr(what, '=') != NULL;
    if (!is_grid && strcmp(what, "history") && strcmp(what, "trajectory") && strcmp(what, "energy")) {
        fprintf(stderr, "%s: error: plot: unknown picture '%s' (history, VAR=a:b:n ..., trajectory or energy)\n",
                prog, what);
        return PHYSM_EXIT_USAGE;
    }
    if (!is_grid && n_args > 2) {
        fprintf(stderr, "%s: error: plot %s: takes at most one file, not '%s'\n", prog, what, args[2]);
        return PHYSM_EXIT_USAGE;
    }
    if (find_gnuplot(gnuplot, sizeof gnuplot)) {
        fprintf(stderr, "%s: error: plot: gnuplot not found (%s); install it (Debian: apt-get install "
                "gnuplot-nox) or name it with GNUPLOT=/path/to/gnuplot\n", prog,
                getenv("GNUPLOT") && getenv("GNUPLOT")[0] ? "$GNUPLOT is not executable" : "not on PATH");
        return PHYSM_EXIT_RUNTIME;
    }
    char title[256];
    if (out_png) snprintf(png, sizeof png, "%s", out_png);

    if (!strcmp(what, "history")) {
        char *hist = n_args > 1 ? strdup(args[1]) : physm_history_path(checkpoint);
        if (!hist) return PHYSM_EXIT_RUNTIME;
        int n_cols = 0;
        int total = access(hist, R_OK) == 0 ? header_column(hist, "total", &n_cols) : 0;
        if (!total) {
            fprintf(stderr, "%s: error: plot history: %s %s\n", prog, hist,
                    access(hist, R_OK) ? "cannot be read (train the model first)" : "is not a loss history");
            free(hist);
            return PHYSM_EXIT_RUNTIME;
        }
        if (!out_png) snprintf(png, sizeof png, "%s_history.png", prog);
        sn = snprintf(script, sizeof script,
                      "%sset output '%s'\nset datafile separator ','\nset key autotitle columnhead outside\n"
                      "set logscale y\nset format y '%%.0e'\nset grid\nset autoscale xfix\nset xlabel 'step'\n"
                      "set ylabel 'loss'\n"
                      "set title 'model %s: loss history'\n"
                      "plot for [c=3:%d] '%s' using 1:c with lines lw (c == %d ? 2.5 : 1.2)\n",
                      PNG_TERMINAL, png, m->name, total, hist, total);
        free(hist);
    } else if (is_grid) {
        int nv = 0;
        while (nv < n_args && strchr(args[nv], '=')) nv++;
        if (nv > 2 || n_args - nv > 1) {
            fprintf(stderr, "%s: error: plot: one or two VAR=a:b:n and at most one column (a field, d(...), an "
                    "equation or a constant)\n", prog);
            return PHYSM_EXIT_USAGE;
        }
        FILE *f = temp_data(data, sizeof data);
        if (!f) {
            fprintf(stderr, "%s: error: plot: cannot create a temporary file: %s\n", prog, strerror(errno));
            return PHYSM_EXIT_RUNTIME;
        }
        /* a named field is eval's automatic column: ask eval for the grid only */
        int field_col = 0;
        for (int fi = 0; nv < n_args && fi < m->n_fields; fi++) field_col |= !strcmp(m->fields[fi].name, args[nv]);
        status = physm_grid_eval(lay, checkpoint, field_col ? nv : n_args, args, f);
        fclose(f);
        if (status != PHYSM_EXIT_OK) goto done;
        status = PHYSM_EXIT_RUNTIME;
        char col[200];
        int n_cols = 0, c;
        if (nv < n_args) {
            physm_column_name(col, sizeof col, args[nv]);
            c = header_column(data, col, &n_cols);
            if (!c) {
                char first[210];
                snprintf(first, sizeof first, "%s_0", col);
                c = header_column(data, first, &n_cols);
                if (c) snprintf(col, sizeof col, "%.190s", first);
            }
        } else {
            c = nv + 1;
            header_column(data, "", &n_cols);
            FILE *h = fopen(data, "r");   /* the name of column c */
            char line[8192] = "";
            if (h && fgets(line, sizeof line, h)) {
                char *save = NULL, *tok = strtok_r(line, ",\r\n", &save);
                for (int k = 1; tok && k < c; k++) tok = strtok_r(NULL, ",\r\n", &save);
                snprintf(col, sizeof col, "%s", tok ? tok : "?");
            }
            if (h) fclose(h);
        }
        if (!c || c > n_cols) {
            fprintf(stderr, "%s: error: plot: no column to plot\n", prog);
            goto done;
        }
        /* the variables that vary (VAR=a:b:n, n > 1) are the axes; VAR=a holds one fixed */
        int axis[2] = {0, 1}, n_axes = 0;
        for (int j = 0; j < nv; j++) {
            const char *r = strchr(args[j], '='), *c2 = r ? strrchr(r, ':') : NULL;
            if (c2 && strchr(r, ':') != c2 && atol(c2 + 1) > 1 && n_axes < 2) axis[n_axes++] = j;
        }
        if (n_axes == 0) n_axes = nv;
        char var1[64], var2[64] = "";
        snprintf(var1, sizeof var1, "%.*s", (int)(strchr(args[axis[0]], '=') - args[axis[0]]), args[axis[0]]);
        if (n_axes == 2)
            snprintf(var2, sizeof var2, "%.*s", (int)(strchr(args[axis[1]], '=') - args[axis[1]]), args[axis[1]]);
        if (!out_png) snprintf(png, sizeof png, "%s_%s.png", prog, col);
        snprintf(title, sizeof title, "model %s: %s", m->name, col);
        if (nv == 2 && n_axes == 1) {   /* the fixed variable in the title */
            const int fixed = 1 - axis[0];
            snprintf(title, sizeof title, "model %s: %s at %s", m->name, col, args[fixed]);
        }
        if (n_axes == 1)
            sn = snprintf(script, sizeof script,
                          "%sset output '%s'\nset datafile separator ','\nset grid\nset key off\n"
                          "set xlabel '%s'\nset ylabel '%s'\nset title '%s'\n"
                          "plot '%s' skip 1 using %d:%d with lines lw 2\n",
                          PNG_TERMINAL, png, var1, col, title, data, axis[0] + 1, c);
        else
            sn = snprintf(script, sizeof script,
                          "%sset output '%s'\nset datafile separator ','\nset xlabel '%s'\nset ylabel '%s'\n"
                          "set title '%s'\nset palette defined (0 '#3b4cc0', 0.5 '#f2f2f2', 1 '#b40426')\n"
                          "set cblabel '%s'\nset autoscale xfix\nset autoscale yfix\n"
                          "stats '%s' skip 1 using %d nooutput\n"   /* white at 0 when the sign changes */
                          "if (STATS_min < 0 && STATS_max > 0) { r = STATS_max > -STATS_min ? STATS_max : -STATS_min; "
                          "set cbrange [-r:r] }\n"
                          "plot '%s' skip 1 using 1:2:%d with image notitle\n",
                          PNG_TERMINAL, png, var1, var2, title, col, data, c, data, c);
    } else {   /* trajectory, energy: simulate's CSV */
        const physm_dynamics *d = m->dynamics;
        if (!d) {
            fprintf(stderr, "%s: error: plot %s: the model '%s' has no dynamics\n", prog, what, m->name);
            return PHYSM_EXIT_USAGE;
        }
        char file[4096];
        if (n_args > 1) snprintf(file, sizeof file, "%s", args[1]);
        else if (m->n_simulations > 0 && m->simulations[0].out_file)
            snprintf(file, sizeof file, "%s", m->simulations[0].out_file);
        else snprintf(file, sizeof file, "%s_%s.csv", m->name,
                      m->n_simulations > 0 ? m->simulations[0].name : "simulate");
        const int energy = !strcmp(what, "energy");
        if (energy && !d->energy) {
            fprintf(stderr, "%s: error: plot energy: the model '%s' defines no energy\n", prog, m->name);
            return PHYSM_EXIT_USAGE;
        }
        const int n_read = energy ? 3 : 2 + d->n_state;
        const char **cols = calloc((size_t)n_read, sizeof *cols);
        double *v = NULL;
        int rows = 0;
        if (!cols) return PHYSM_EXIT_RUNTIME;
        cols[0] = "trajectory";
        cols[1] = "t";
        if (energy) cols[2] = "energy";
        else
            for (int j = 0; j < d->n_state; j++) cols[2 + j] = d->names[j];
        int rc = physm_csv_read(file, file, n_read, cols, &v, &rows);
        free(cols);
        if (rc) {
            fprintf(stderr, "%s: plot %s reads the output of 'simulate' (give its CSV file)\n", prog, what);
            return PHYSM_EXIT_RUNTIME;
        }
        FILE *f = temp_data(data, sizeof data);
        if (!f) {
            free(v);
            fprintf(stderr, "%s: error: plot: cannot create a temporary file: %s\n", prog, strerror(errno));
            return PHYSM_EXIT_RUNTIME;
        }
        /* trajectories as gnuplot data blocks (two blank lines apart), energy as its drift */
        double e0 = 0;
        int n_traj = 0;
        for (int r = 0; r < rows; r++) {
            const double *row = v + (size_t)r * n_read;
            if (r == 0 || row[0] != row[-n_read]) {
                if (r > 0) fputs("\n\n", f);
                e0 = energy ? row[2] : 0;
                n_traj++;
            }
            fprintf(f, "%.17g", row[1]);
            if (energy) fprintf(f, ",%.17g", (row[2] - e0) / (fabs(e0) > 0 ? fabs(e0) : 1));
            else
                for (int j = 2; j < n_read; j++) fprintf(f, ",%.17g", row[j]);
            fputc('\n', f);
        }
        free(v);
        fclose(f);
        if (!out_png) snprintf(png, sizeof png, "%s_%s.png", prog, what);
        sn = snprintf(script, sizeof script,
                      "%sset output '%s'\nset datafile separator ','\nset grid\nset xlabel 't'\n"
                      "set title 'model %s: %s (%s, %d trajector%s)'\n",
                      PNG_TERMINAL, png, m->name, energy ? "relative energy drift" : "trajectory", file, n_traj,
                      n_traj == 1 ? "y" : "ies");
        if (energy)
            sn += snprintf(script + sn, sizeof script - (size_t)sn,
                           "set ylabel '(E - E(0)) / |E(0)|'\nset format y '%%.1e'\nset key off\n"
                           "plot '%s' using 1:2 with lines lw 1.5\n", data);
        else {
            sn += snprintf(script + sn, sizeof script - (size_t)sn, "set key outside\nplot ");
            for (int j = 0; j < d->n_state && sn < (int)sizeof script - 200; j++)
                sn += snprintf(script + sn, sizeof script - (size_t)sn, "%s'%s' using 1:%d with lines title '%s'",
                               j ? ", " : "", data, 2 + j, d->names[j]);
            sn += snprintf(script + sn, sizeof script - (size_t)sn, "\n");
        }
    }
    if (sn <= 0 || sn >= (int)sizeof script) {
        fprintf(stderr, "%s: error: plot: names too long for the gnuplot script\n", prog);
        goto done;
    }
    if (run_gnuplot(prog, gnuplot, script, png) == 0) {
        printf("wrote %s\n", png);
        status = fflush(stdout) == 0 ? PHYSM_EXIT_OK : PHYSM_EXIT_RUNTIME;
    }
done:
    if (data[0]) remove(data);
    return status;
}
