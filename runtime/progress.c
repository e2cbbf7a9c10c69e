/* progress.c - training (and simulation) progress on stderr.
 *
 * On a terminal: one line rewritten in place (\r) at most 10 times a second
 * with the step, total loss, each term's loss by name, steps/s and ETA.
 * Otherwise (pipe, file): a plain line every 2 seconds or every 10% of the
 * steps, whichever comes first. Always (unless --quiet) a final summary. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <string.h>
#include <unistd.h>

void physm_progress_init(physm_progress *pr, const physm_model *model, FILE *out, int quiet,
                         long first_step, long total_steps)
{
    memset(pr, 0, sizeof *pr);
    pr->model = model;
    pr->out = out;
    pr->quiet = quiet;
    pr->tty = isatty(fileno(out));
    pr->first_step = first_step;
    pr->total_steps = total_steps;
    pr->t_start = pr->t_last = physm_now();
    if (pr->tty) pr->t_last -= 1;   /* show the first step at once */
    pr->step_last = first_step;
}

static void format_duration(char *buf, size_t size, double s)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, size, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void print_line(physm_progress *pr, long step, const char *stage, double loss,
                       const double *term_loss, const double *weights, double now)
{
    const physm_model *m = pr->model;
    const double dt = now - pr->t_start;
    const long done = step - pr->first_step;
    const double rate = dt > 0 ? done / dt : 0;
    char eta[32];
    format_duration(eta, sizeof eta, rate > 0 ? (pr->total_steps - step) / rate : -1);
    fprintf(pr->out, "%sstep %ld/%ld %s  loss %.4e", pr->tty ? "\r" : "", step, pr->total_steps, stage,
            loss);
    for (int t = 0; t < m->n_terms; t++) {
        fprintf(pr->out, "  %s %.3e", m->terms[t].name, term_loss[t]);
        if (weights && m->terms[t].weight_rule != PHYSM_WEIGHT_FIXED) fprintf(pr->out, " (w %.3g)", weights[t]);
    }
    fprintf(pr->out, "  %.1f steps/s  ETA %s%s", rate, eta, pr->tty ? "\033[K" : "\n");
    fflush(pr->out);
    pr->line_open = pr->tty;
}

/* Whether a report of step is due now (and if so, note it as the last). */
static int report_due(physm_progress *pr, long step, double now, int by_steps)
{
    if (pr->quiet) return 0;
    if (pr->tty) {
        if (now - pr->t_last < 0.1 && step < pr->total_steps) return 0;
    } else {
        const long tenth = (pr->total_steps - pr->first_step) / 10;
        const int time_due = now - pr->t_last >= 2.0;
        const int step_due = by_steps && tenth > 0 && step - pr->step_last >= tenth;
        if (!time_due && !step_due) return 0;
    }
    pr->t_last = now;
    pr->step_last = step;
    return 1;
}

void physm_progress_update(physm_progress *pr, long step, const char *stage, double loss,
                           const double *term_loss, const double *weights)
{
    const double now = physm_now();
    if (report_due(pr, step, now, 1)) print_line(pr, step, stage, loss, term_loss, weights, now);
}

void physm_progress_steps(physm_progress *pr, long step, const char *what)
{
    const double now = physm_now();
    if (!report_due(pr, step, now, 0)) return;
    const double dt = now - pr->t_start;
    const double rate = dt > 0 ? (step - pr->first_step) / dt : 0;
    char eta[32];
    format_duration(eta, sizeof eta, rate > 0 ? (pr->total_steps - step) / rate : -1);
    fprintf(pr->out, "%s%s: step %ld/%ld  %.1f steps/s  ETA %s%s", pr->tty ? "\r" : "", what, step,
            pr->total_steps, rate, eta, pr->tty ? "\033[K" : "\n");
    fflush(pr->out);
    pr->line_open = pr->tty;
}

void physm_progress_break(physm_progress *pr)
{
    if (pr->line_open) {
        fputc('\n', pr->out);
        fflush(pr->out);
        pr->line_open = 0;
    }
}

void physm_progress_summary(physm_progress *pr, long steps_run, double loss, const double *term_loss,
                            const double *weights, const char *checkpoint)
{
    if (pr->quiet) return;
    physm_progress_break(pr);
    const physm_model *m = pr->model;
    const double dt = physm_now() - pr->t_start;
    fprintf(pr->out, "trained %s: %ld steps in %.3f s (%.1f steps/s), loss %.6e", m->name, steps_run, dt,
            dt > 0 ? steps_run / dt : 0.0, loss);
    if (m->n_terms > 0) {
        fprintf(pr->out, " (");
        for (int t = 0; t < m->n_terms; t++) {
            fprintf(pr->out, "%s%s %.3e", t ? ", " : "", m->terms[t].name, term_loss[t]);
            if (weights && m->terms[t].weight_rule != PHYSM_WEIGHT_FIXED)
                fprintf(pr->out, " (weight %.6g%s)", weights[t],
                        m->terms[t].weight_rule == PHYSM_WEIGHT_AUTO ? ", balanced automatically" : "");
        }
        fprintf(pr->out, ")");
    }
    fprintf(pr->out, "; checkpoint %s\n", checkpoint);
    fflush(pr->out);
}
