/* jet_plan_internal.h - layout of a jet plan, shared by the MLP kernels.
 * Not a public header. */
#ifndef PHYSRT_JET_PLAN_INTERNAL_H
#define PHYSRT_JET_PLAN_INTERNAL_H

#include "physrt.h"

/* One Faa di Bruno term: coeff * s^(k)(z) * prod_{j<k} d^{block[j]} z. */
typedef struct {
    int coeff;
    int k;
    int block[PHYSRT_MAX_ORDER];   /* stream indices, ascending */
} jet_term;

struct physrt_jet_plan {
    int n_inputs;
    int n_streams;
    int max_order;
    unsigned char (*mi)[PHYSRT_MAX_INPUTS];  /* multi-index of each stream */
    int *order;                              /* total order of each stream */
    unsigned char *requested;
    int *term_begin;                         /* n_streams + 1 offsets into terms */
    jet_term *terms;
};

#endif
