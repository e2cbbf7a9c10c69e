/* checkpoint.c - saving and loading trained values.
 *
 * Format (version 1, or 2 with adaptive state), all integers and floats
 * little-endian:
 *
 *   8 bytes  magic "PHYSCKPT"
 *   u32      format version (1; 2 when blocks of kind 3 or 4 follow)
 *   u32      flags (0)
 *   u64      the model's structure_hash
 *   i64      steps done in the training schedule
 *   f64      last loss (NaN if unknown)
 *   u32      model name length, then the name's bytes (no terminator)
 *   u32      number of blocks: one per field (network weights, physrt
 *            layout), then one per trainable constant, in model order
 *   blocks   u32 kind (1 = field weights, 2 = constant), u32 name length,
 *            name bytes, u64 count, count x f64 values; then (version 2)
 *            blocks of the adaptive training state, named after their term:
 *            3 = the term's adaptive loss weight (count 1), 4 = the points
 *            of an adaptively sampled term (count = points x coordinates)
 *   u64      FNV-1a 64-bit hash of every byte before it
 *
 * Saving is atomic: the bytes go to PATH.tmp, which is flushed and fsynced,
 * then renamed over PATH (and the directory fsynced), so a crash at any
 * moment leaves the old or the new complete file. Loading refuses, with a
 * named error, a missing or empty file, another format, a truncated or
 * corrupt file (checksum), and a checkpoint of another model or structure. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAGIC "PHYSCKPT"
#define CKPT_VERSION 2u
enum { BLOCK_FIELD = 1, BLOCK_CONSTANT = 2, BLOCK_WEIGHT = 3, BLOCK_POINTS = 4 };

/* The blocks of adaptive state a save writes: term t's weight, its points. */
static int saves_weight(const physm_model *m, const physm_ckpt_info *info, int t)
{
    return info && info->weights && m->terms[t].weight_rule != PHYSM_WEIGHT_FIXED;
}

static int saves_points(const physm_model *m, const physm_ckpt_info *info, int t)
{
    return info && info->points && info->points[t] && m->terms[t].adapt != PHYSM_ADAPT_NONE;
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- writing ---- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} wbuf;

static void put_bytes(wbuf *b, const void *src, size_t n)
{
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u64(wbuf *b, uint64_t v)
{
    unsigned char c[8];
    for (int i = 0; i < 8; i++) c[i] = (unsigned char)(v >> (8 * i));
    put_bytes(b, c, 8);
}

static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char c[4];
    for (int i = 0; i < 4; i++) c[i] = (unsigned char)(v >> (8 * i));
    put_bytes(b, c, 4);
}

static void put_f64(wbuf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(b, u);
}

static void put_name(wbuf *b, const char *s)
{
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put_bytes(b, s, n);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding path so the rename itself is durable. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) strcpy(dir, ".");
    else if (slash == path) strcpy(dir, "/");
    else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) return;
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int physm_checkpoint_save(const physm_layout *lay, const char *path, const double *theta,
                          const physm_ckpt_info *info)
{
    const physm_model *m = lay->model;
    size_t cap = 64 + strlen(m->name) + 8;
    for (int f = 0; f < m->n_fields; f++)
        cap += 16 + strlen(m->fields[f].name) + 8 * (lay->offset[f + 1] - lay->offset[f]);
    for (int p = 0; p < m->n_params; p++) cap += 24 + strlen(m->params[p].name);
    uint32_t n_extra = 0;
    for (int t = 0; t < m->n_terms; t++) {
        const size_t name = 16 + strlen(m->terms[t].name);
        if (saves_weight(m, info, t)) cap += name + 8, n_extra++;
        if (saves_points(m, info, t)) cap += name + 8 * (size_t)info->n_points[t] * m->terms[t].n_coords, n_extra++;
    }
    wbuf b = {malloc(cap), 0, cap};
    size_t lp = strlen(path);
    char *tmp = malloc(lp + 5);
    if (!b.p || !tmp) {
        free(b.p);
        free(tmp);
        fprintf(stderr, "%s: error: out of memory writing checkpoint %s\n", lay->prog, path);
        return -1;
    }
    memcpy(tmp, path, lp);
    memcpy(tmp + lp, ".tmp", 5);

    put_bytes(&b, CKPT_MAGIC, 8);
    put_u32(&b, n_extra ? CKPT_VERSION : 1u);   /* without adaptive state, as ever */
    put_u32(&b, 0);
    put_u64(&b, m->structure_hash);
    put_u64(&b, (uint64_t)info->steps_done);
    put_f64(&b, info->loss);
    put_name(&b, m->name);
    put_u32(&b, (uint32_t)(m->n_fields + m->n_params) + n_extra);
    for (int f = 0; f < m->n_fields; f++) {
        put_u32(&b, BLOCK_FIELD);
        put_name(&b, m->fields[f].name);
        const size_t cnt = lay->offset[f + 1] - lay->offset[f];
        put_u64(&b, cnt);
        for (size_t q = 0; q < cnt; q++) put_f64(&b, theta[lay->offset[f] + q]);
    }
    for (int p = 0; p < m->n_params; p++) {
        put_u32(&b, BLOCK_CONSTANT);
        put_name(&b, m->params[p].name);
        put_u64(&b, 1);
        put_f64(&b, theta[lay->n_weights + (size_t)p]);
    }
    for (int t = 0; t < m->n_terms; t++) {
        if (saves_weight(m, info, t)) {
            put_u32(&b, BLOCK_WEIGHT);
            put_name(&b, m->terms[t].name);
            put_u64(&b, 1);
            put_f64(&b, info->weights[t]);
        }
        if (saves_points(m, info, t)) {
            const size_t cnt = (size_t)info->n_points[t] * m->terms[t].n_coords;
            put_u32(&b, BLOCK_POINTS);
            put_name(&b, m->terms[t].name);
            put_u64(&b, cnt);
            for (size_t q = 0; q < cnt; q++) put_f64(&b, info->points[t][q]);
        }
    }
    put_u64(&b, fnv1a64(b.p, b.n));

    int ret = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: error: cannot write checkpoint %s: %s\n", lay->prog, tmp, strerror(errno));
    } else if (write_all(fd, b.p, b.n) || fsync(fd)) {
        fprintf(stderr, "%s: error: cannot write checkpoint %s: %s\n", lay->prog, tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    } else if (close(fd)) {
        fprintf(stderr, "%s: error: cannot write checkpoint %s: %s\n", lay->prog, tmp, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path)) {
        fprintf(stderr, "%s: error: cannot rename %s to %s: %s\n", lay->prog, tmp, path, strerror(errno));
        unlink(tmp);
    } else {
        sync_dir(path);
        ret = 0;
    }
    free(b.p);
    free(tmp);
    return ret;
}

/* ---- reading ---- */

typedef struct {
    const unsigned char *p;
    size_t n, at;
    int short_read;               /* ran past the end */
} rbuf;

static int need(rbuf *r, size_t k)
{
    if (r->short_read || r->n - r->at < k) {
        r->short_read = 1;
        return 0;
    }
    return 1;
}

static uint64_t get_u64(rbuf *r)
{
    if (!need(r, 8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->p[r->at + i] << (8 * i);
    r->at += 8;
    return v;
}

static uint32_t get_u32(rbuf *r)
{
    if (!need(r, 4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)r->p[r->at + i] << (8 * i);
    r->at += 4;
    return v;
}

static double get_f64(rbuf *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* Name as a pointer into the buffer and its length. */
static const char *get_name(rbuf *r, size_t *len)
{
    *len = get_u32(r);
    if (!need(r, *len)) return NULL;
    const char *s = (const char *)r->p + r->at;
    r->at += *len;
    return s;
}

static int name_is(const char *s, size_t len, const char *want)
{
    return s && strlen(want) == len && memcmp(s, want, len) == 0;
}

static int read_whole(const char *path, unsigned char **data, size_t *size, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = errno;
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *nb = realloc(buf, 2 * cap);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        *err = buf ? EIO : ENOMEM;
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

int physm_checkpoint_load(const physm_layout *lay, const char *path, double *theta,
                          physm_ckpt_info *info)
{
    unsigned char *data = NULL;
    size_t size = 0;
    int err = 0;
    if (read_whole(path, &data, &size, &err)) {
        fprintf(stderr, "%s: error: cannot read checkpoint %s: %s%s\n", lay->prog, path, strerror(err),
                err == ENOENT ? " (train the model first, or give --checkpoint FILE)" : "");
        return -1;
    }
    int ret = physm_checkpoint_parse(lay, path, data, size, theta, info);
    free(data);
    return ret;
}

int physm_checkpoint_parse(const physm_layout *lay, const char *path, const unsigned char *data, size_t size,
                           double *theta, physm_ckpt_info *info)
{
    const physm_model *m = lay->model;
    const char *prog = lay->prog;
    int ret = -1;
    rbuf r = {data, size, 0, 0};
    if (size == 0) {
        fprintf(stderr, "%s: error: checkpoint %s is empty\n", prog, path);
        goto done;
    }
    if (size < 8 || memcmp(data, CKPT_MAGIC, 8) != 0) {
        fprintf(stderr, "%s: error: %s is not a physc checkpoint (bad magic number)\n", prog, path);
        goto done;
    }
    r.at = 8;
    uint32_t version = get_u32(&r);
    if (!r.short_read && (version < 1 || version > CKPT_VERSION)) {
        fprintf(stderr, "%s: error: checkpoint %s has format version %u; this runtime reads versions 1 to %u\n",
                prog, path, version, CKPT_VERSION);
        goto done;
    }
    (void)get_u32(&r);   /* flags */
    uint64_t hash = get_u64(&r);
    int64_t steps = (int64_t)get_u64(&r);
    double loss = get_f64(&r);
    size_t name_len;
    const char *name = get_name(&r, &name_len);
    uint32_t n_blocks = get_u32(&r);
    /* Walk the blocks once to find the end (validating lengths). */
    for (uint32_t b = 0; b < n_blocks && !r.short_read; b++) {
        size_t l;
        (void)get_u32(&r);
        (void)get_name(&r, &l);
        uint64_t cnt = get_u64(&r);
        if (cnt > (r.n - r.at) / 8) r.short_read = 1;
        else r.at += (size_t)cnt * 8;
    }
    size_t body = r.at;
    uint64_t stored = get_u64(&r);
    if (r.short_read) {
        fprintf(stderr, "%s: error: checkpoint %s is truncated (%zu bytes; an interrupted copy?)\n", prog,
                path, size);
        goto done;
    }
    if (r.at != size) {
        fprintf(stderr, "%s: error: checkpoint %s is corrupt (%zu unexpected bytes after the end)\n", prog,
                path, size - r.at);
        goto done;
    }
    if (stored != fnv1a64(data, body)) {
        fprintf(stderr, "%s: error: checkpoint %s is corrupt (checksum mismatch)\n", prog, path);
        goto done;
    }
    if (!name_is(name, name_len, m->name)) {
        fprintf(stderr, "%s: error: checkpoint %s belongs to model '%.*s', not to model '%s'\n", prog, path,
                (int)(name_len > 200 ? 200 : name_len), name, m->name);
        goto done;
    }
    if (hash != m->structure_hash) {
        fprintf(stderr,
                "%s: error: checkpoint %s was written by model '%s' with another structure "
                "(hash %016llx, this build has %016llx): networks or constants changed; retrain\n",
                prog, path, m->name, (unsigned long long)hash, (unsigned long long)m->structure_hash);
        goto done;
    }
    const uint32_t n_values = (uint32_t)(m->n_fields + m->n_params);
    if (version == 1 ? n_blocks != n_values : n_blocks < n_values) {
        fprintf(stderr, "%s: error: checkpoint %s has %u blocks, model '%s' needs %d\n", prog, path,
                n_blocks, m->name, m->n_fields + m->n_params);
        goto done;
    }
    /* Second pass: check every block against the model, then copy. */
    rbuf v = {data, body, 0, 0};
    v.at = 48 + name_len;   /* header 40, name length 4, name, block count 4 */
    for (int b = 0; b < m->n_fields + m->n_params; b++) {
        const int is_field = b < m->n_fields;
        const char *want = is_field ? m->fields[b].name : m->params[b - m->n_fields].name;
        const size_t want_cnt = is_field ? lay->offset[b + 1] - lay->offset[b] : 1;
        uint32_t kind = get_u32(&v);
        size_t l;
        const char *bn = get_name(&v, &l);
        uint64_t cnt = get_u64(&v);
        if (kind != (uint32_t)(is_field ? BLOCK_FIELD : BLOCK_CONSTANT) || !name_is(bn, l, want) ||
            cnt != want_cnt) {
            fprintf(stderr,
                    "%s: error: checkpoint %s does not match model '%s': block %d is %s '%.*s' with %llu "
                    "values, expected %s '%s' with %zu\n",
                    prog, path, m->name, b + 1, kind == BLOCK_FIELD ? "field" : "constant",
                    (int)(l > 200 ? 200 : l), bn ? bn : "", (unsigned long long)cnt,
                    is_field ? "field" : "constant", want, want_cnt);
            goto done;
        }
        double *dst = is_field ? theta + lay->offset[b] : theta + lay->n_weights + (b - m->n_fields);
        for (size_t q = 0; q < want_cnt; q++) {
            dst[q] = get_f64(&v);
            if (!isfinite(dst[q])) {
                fprintf(stderr, "%s: error: checkpoint %s holds a non-finite value in '%s'\n", prog, path,
                        want);
                goto done;
            }
        }
    }
    /* The adaptive state: blocks of terms this model adapts, the rest skipped. */
    for (uint32_t b = n_values; b < n_blocks; b++) {
        uint32_t kind = get_u32(&v);
        size_t l;
        const char *bn = get_name(&v, &l);
        const uint64_t cnt = get_u64(&v);
        const size_t at = v.at;
        v.at += (size_t)cnt * 8;
        int t = 0;
        while (t < m->n_terms && !name_is(bn, l, m->terms[t].name)) t++;
        if (!info || t == m->n_terms) continue;
        const physm_term *term = &m->terms[t];
        rbuf q = {data, body, at, 0};
        if (kind == BLOCK_WEIGHT && info->weights && term->weight_rule != PHYSM_WEIGHT_FIXED && cnt == 1) {
            const double w = get_f64(&q);
            if (!(w >= 0) || !isfinite(w)) {
                fprintf(stderr, "%s: error: checkpoint %s holds a bad loss weight for '%s'\n", prog, path, term->name);
                goto done;
            }
            info->weights[t] = w;
        } else if (kind == BLOCK_POINTS && info->points && term->adapt != PHYSM_ADAPT_NONE) {
            const int nc = term->n_coords;
            if (cnt == 0 || cnt % (uint64_t)nc || cnt / (uint64_t)nc > 0x7fffffff) {
                fprintf(stderr, "%s: error: checkpoint %s holds %llu numbers as the points of '%s', not whole points "
                        "of %d coordinates\n", prog, path, (unsigned long long)cnt, term->name, nc);
                goto done;
            }
            double *pts = malloc((size_t)cnt * sizeof *pts);
            if (!pts) {
                fprintf(stderr, "%s: error: out of memory reading checkpoint %s\n", prog, path);
                goto done;
            }
            for (size_t k = 0; k < cnt; k++) pts[k] = get_f64(&q);
            free(info->points[t]);
            info->points[t] = pts;
            info->n_points[t] = (int)(cnt / (uint64_t)nc);
        }
    }
    if (info) {
        info->steps_done = (long)steps;
        info->loss = loss;
    }
    ret = 0;
done:
    return ret;
}

char *physm_default_checkpoint(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    const char *base = slash ? slash + 1 : argv0;
    if (!*base) base = "model";
    char *path = malloc(strlen(base) + sizeof ".ckpt");
    if (path) {
        strcpy(path, base);
        strcat(path, ".ckpt");
    }
    return path;
}
