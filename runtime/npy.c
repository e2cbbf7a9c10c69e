/* npy.c - NumPy .npy output (eval and simulate --format npy).
 *
 * One structured array of n_rows records, one float64 field per column,
 * named like the CSV header: numpy.load("u.npy")["d_u_x"] is a column,
 * numpy.load(...).dtype.names the column names. Format 1.0 (2.0 when the
 * header would pass 64 KiB): magic, version, header length, the header dict
 * padded with spaces to a multiple of 64 bytes, then the records in the
 * host's byte order (declared in the dtype). */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

int physm_npy_write_header(FILE *out, int n_cols, const char *const *names, long n_rows)
{
    const unsigned one = 1;
    const char order = *(const unsigned char *)&one ? '<' : '>';
    size_t cap = 128, len = 0;
    for (int c = 0; c < n_cols; c++) cap += strlen(names[c]) * 2 + 16;
    char *h = malloc(cap + 64);
    if (!h) return -1;
    len += (size_t)sprintf(h + len, "{'descr': [");
    for (int c = 0; c < n_cols; c++) {
        len += (size_t)sprintf(h + len, "%s('", c ? ", " : "");
        for (const char *p = names[c]; *p; p++) {   /* a Python string literal */
            if (*p == '\'' || *p == '\\') h[len++] = '\\';
            h[len++] = *p;
        }
        len += (size_t)sprintf(h + len, "', '%cf8')", order);
    }
    len += (size_t)sprintf(h + len, "], 'fortran_order': False, 'shape': (%ld,), }", n_rows);
    const int v2 = len + 12 >= 65535;
    const size_t prefix = v2 ? 12 : 10;
    size_t total = (prefix + len + 1 + 63) / 64 * 64;   /* + '\n' */
    while (len < total - prefix - 1) h[len++] = ' ';
    h[len++] = '\n';
    unsigned char pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', v2 ? 2 : 1, 0};
    for (int i = 0; i < (v2 ? 4 : 2); i++) pre[8 + i] = (unsigned char)(len >> (8 * i));
    int rc = fwrite(pre, 1, prefix, out) == prefix && fwrite(h, 1, len, out) == len ? 0 : -1;
    free(h);
    return rc;
}
