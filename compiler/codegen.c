/* Code generation: a lowered model becomes an LLVM module holding the
 * model descriptor of runtime/physmodel.h as constant data, the pointwise
 * functions of every loss term (inputs, residual, residual VJP; float64 and
 * float32), and main(). Residual DAGs are emitted as straight-line loop
 * bodies; the VJP is the DAG's own reverse sweep (dag_reverse), so forward
 * values and adjoints share one DAG and common subexpressions. */
#include "codegen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>

#include "physmodel.h"
#include "physmodel_abi.h"

typedef struct {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef i32, i64, f64, ptr, real; /* real: f64 or f32, for the function being built */
    const lw_model *m;
    phys_dag *dag;
    int inline_exp;               /* exp as inline code (kernel loops, so they vectorise) */
} gen;

/* ------------------------------------------------------------ functions */

static LLVMValueRef declare_fn(gen *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n)
{
    LLVMValueRef f = LLVMGetNamedFunction(g->mod, name);
    if (!f) f = LLVMAddFunction(g->mod, name, LLVMFunctionType(ret, params, (unsigned)n, 0));
    return f;
}

/* A scalar math function of n arguments in the current precision:
 * llvm.* intrinsics carry the type in the name; libm calls take an f suffix
 * for float. */
static LLVMValueRef call_math(gen *g, const char *base, LLVMValueRef *args, int n)
{
    char name[64];
    int is_f32 = g->real != g->f64;
    if (!strncmp(base, "llvm.", 5)) snprintf(name, sizeof name, "%s.%s", base, is_f32 ? "f32" : "f64");
    else snprintf(name, sizeof name, "%s%s", base, is_f32 ? "f" : "");
    LLVMTypeRef ts[2] = {g->real, g->real};
    LLVMValueRef f = declare_fn(g, name, g->real, ts, n);
    return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, (unsigned)n, "");
}

static LLVMValueRef call1(gen *g, const char *base, LLVMValueRef x)
{
    return call_math(g, base, &x, 1);
}

static LLVMValueRef call2(gen *g, const char *base, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef args[2] = {x, y};
    return call_math(g, base, args, 2);
}

static LLVMValueRef real_const(gen *g, double v)
{
    return LLVMConstReal(g->real, v);
}

static LLVMValueRef bool_to_real(gen *g, LLVMValueRef bit)
{
    return LLVMBuildUIToFP(g->b, bit, g->real, "");
}

static LLVMValueRef sigmoid(gen *g, LLVMValueRef x)
{
    LLVMValueRef e = call1(g, "llvm.exp", LLVMBuildFNeg(g->b, x, ""));
    return LLVMBuildFDiv(g->b, real_const(g, 1.0), LLVMBuildFAdd(g->b, real_const(g, 1.0), e, ""), "");
}

/* Leaves are supplied by the caller through `leaf`. */
/* cos(pi x) without a call: x reduced exactly to r in [-1, 1] (the period
 * is 2), cos(pi r) = sin(pi b) with b = 1/2 - |r| in [-1/2, 1/2], and the
 * odd Taylor series of sin(pi b) to b^23 (last term below 2e-18): within
 * an ulp or two of libm's, branch-free, so a cutoff function in a kernel
 * costs a few multiply-adds instead of a call to sincos. */
static LLVMValueRef cospi(gen *g, LLVMValueRef x)
{
    LLVMBuilderRef b = g->b;
    LLVMValueRef half = real_const(g, 0.5);
    LLVMValueRef r = LLVMBuildFSub(b, x, LLVMBuildFMul(b, real_const(g, 2.0), call1(g, "llvm.rint", LLVMBuildFMul(b, x, half, "")), ""), "");
    LLVMValueRef t = LLVMBuildFSub(b, half, call1(g, "llvm.fabs", r), "");
    LLVMValueRef t2 = LLVMBuildFMul(b, t, t, "");
    double c[12], pi = 3.14159265358979323846, term = pi;
    for (int k = 0; k < 12; k++) c[k] = term, term *= -pi * pi / ((2.0 * k + 2) * (2.0 * k + 3));
    LLVMValueRef p = real_const(g, c[11]);
    for (int k = 10; k >= 0; k--) p = LLVMBuildFAdd(b, LLVMBuildFMul(b, p, t2, ""), real_const(g, c[k]), "");
    return LLVMBuildFMul(b, p, t, "");
}

/* exp(x) without a call: x = k ln 2 + r with k = rint(x / ln 2) and ln 2 in
 * two parts (Cody-Waite), so r is exact to an ulp and |r| <= ln 2 / 2; the
 * Taylor series of e^r to r^13 (last term below 5e-18 relative); 2^k from
 * its exponent bits. 0 below -708 (where exp is under 3e-308), inf above
 * 709; NaN stays NaN. Within 2 ulp of libm's; branch-free, so kernel loops
 * that use it vectorise. */
static LLVMValueRef inline_exp(gen *g, LLVMValueRef x)
{
    LLVMBuilderRef b = g->b;
    LLVMValueRef xc = call2(g, "llvm.minnum", call2(g, "llvm.maxnum", x, real_const(g, -708.0)), real_const(g, 709.0));
    LLVMValueRef k = call1(g, "llvm.rint", LLVMBuildFMul(b, xc, real_const(g, 1.4426950408889634), ""));
    LLVMValueRef r = LLVMBuildFSub(b, xc, LLVMBuildFMul(b, k, real_const(g, 6.93147180369123816490e-01), ""), "");
    r = LLVMBuildFSub(b, r, LLVMBuildFMul(b, k, real_const(g, 1.90821492927058770002e-10), ""), "");
    double c[14];
    c[0] = 1;
    for (int i = 1; i < 14; i++) c[i] = c[i - 1] / i;
    LLVMValueRef p = real_const(g, c[13]);
    for (int i = 12; i >= 0; i--) p = LLVMBuildFAdd(b, LLVMBuildFMul(b, p, r, ""), real_const(g, c[i]), "");
    LLVMValueRef bits = LLVMBuildShl(b, LLVMBuildAdd(b, LLVMBuildFPToSI(b, k, g->i64, ""), LLVMConstInt(g->i64, 1023, 0), ""),
                                     LLVMConstInt(g->i64, 52, 0), "");
    LLVMValueRef v = LLVMBuildFMul(b, p, LLVMBuildBitCast(b, bits, g->f64, ""), "");
    /* below -708 the result is under 3e-308 (0 here), above 709 inf */
    LLVMValueRef low = LLVMBuildFCmp(b, LLVMRealOLT, x, real_const(g, -708.0), "");
    LLVMValueRef high = LLVMBuildFCmp(b, LLVMRealOGT, x, real_const(g, 709.0), "");
    v = LLVMBuildSelect(b, low, real_const(g, 0.0), v, "");
    v = LLVMBuildSelect(b, high, real_const(g, INFINITY), v, "");
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""), x, v, "");
}

typedef LLVMValueRef (*leaf_fn)(gen *g, void *ctx, const dag_node *n);

static LLVMValueRef emit_node(gen *g, const dag_node *n, LLVMValueRef *val, leaf_fn leaf, void *ctx)
{
    LLVMBuilderRef b = g->b;
    LLVMValueRef x = n->a >= 0 ? val[n->a] : NULL, y = n->b >= 0 ? val[n->b] : NULL;
    LLVMValueRef zero = real_const(g, 0.0), one = real_const(g, 1.0);
    switch (n->op) {
    case X_CONST: return real_const(g, n->value);
    case X_COORD: case X_PARAM: case X_STREAM: case X_SEED: return leaf(g, ctx, n);
    case X_INPUT: case X_NET: return zero; /* substituted away before code generation */
    case X_ADD: return LLVMBuildFAdd(b, x, y, "");
    case X_SUB: return LLVMBuildFSub(b, x, y, "");
    case X_MUL: return LLVMBuildFMul(b, x, y, "");
    case X_DIV: return LLVMBuildFDiv(b, x, y, "");
    case X_NEG: return LLVMBuildFNeg(b, x, "");
    case X_POW: return call2(g, "llvm.pow", x, y);
    case X_POWI: {
        if (n->index == 2) return LLVMBuildFMul(b, x, x, "");
        char name[32];
        snprintf(name, sizeof name, "llvm.powi.%s.i32", g->real == g->f64 ? "f64" : "f32");
        LLVMTypeRef ts[2] = {g->real, g->i32};
        LLVMValueRef f = declare_fn(g, name, g->real, ts, 2);
        LLVMValueRef args[2] = {x, LLVMConstInt(g->i32, (unsigned long long)(long long)n->index, 1)};
        return LLVMBuildCall2(b, LLVMGlobalGetValueType(f), f, args, 2, "");
    }
    case X_SIN: return call1(g, "llvm.sin", x);
    case X_COS: return call1(g, "llvm.cos", x);
    case X_TAN: return call1(g, "tan", x);
    case X_ASIN: return call1(g, "asin", x);
    case X_ACOS: return call1(g, "acos", x);
    case X_ATAN: return call1(g, "atan", x);
    case X_ATAN2: return call2(g, "atan2", x, y);
    case X_SINH: return call1(g, "sinh", x);
    case X_COSH: return call1(g, "cosh", x);
    case X_TANH: return call1(g, "tanh", x);
    case X_EXP: return g->inline_exp ? inline_exp(g, x) : call1(g, "llvm.exp", x);
    case X_LOG: return call1(g, "llvm.log", x);
    case X_SQRT: return call1(g, "llvm.sqrt", x);
    case X_ABS: return call1(g, "llvm.fabs", x);
    case X_SIGN: {
        LLVMValueRef pos = bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOGT, x, zero, ""));
        LLVMValueRef neg = bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOLT, x, zero, ""));
        return LLVMBuildFSub(b, pos, neg, "");
    }
    case X_ERF: return call1(g, "erf", x);
    case X_ERFC: return call1(g, "erfc", x);
    case X_SIGMOID: return sigmoid(g, x);
    case X_SOFTPLUS: { /* log1p(exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)) */
        LLVMValueRef ax = call1(g, "llvm.fabs", x);
        LLVMValueRef t = call1(g, "log1p", call1(g, "llvm.exp", LLVMBuildFNeg(b, ax, "")));
        return LLVMBuildFAdd(b, call2(g, "llvm.maxnum", x, zero), t, "");
    }
    case X_GELU: {
        LLVMValueRef e = call1(g, "erf", LLVMBuildFMul(b, x, real_const(g, 0.70710678118654752), ""));
        return LLVMBuildFMul(b, LLVMBuildFMul(b, real_const(g, 0.5), x, ""), LLVMBuildFAdd(b, one, e, ""), "");
    }
    case X_SILU: return LLVMBuildFMul(b, x, sigmoid(g, x), "");
    case X_RELU: return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, zero, ""), x, zero, "");
    case X_STEP: return bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOGT, x, zero, ""));
    case X_COSPI: return cospi(g, x);
    case X_SINPI: return cospi(g, LLVMBuildFSub(b, x, real_const(g, 0.5), ""));
    case X_MIN: return call2(g, "llvm.minnum", x, y);
    case X_MAX: return call2(g, "llvm.maxnum", x, y);
    case X_LT: return bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOLT, x, y, ""));
    case X_LE: return bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOLE, x, y, ""));
    case X_GT: return bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOGT, x, y, ""));
    case X_GE: return bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOGE, x, y, ""));
    case X_NE: return bool_to_real(g, LLVMBuildFCmp(b, LLVMRealUNE, x, y, ""));
    case X_AND:
        return bool_to_real(g, LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealUNE, x, zero, ""),
                                            LLVMBuildFCmp(b, LLVMRealUNE, y, zero, ""), ""));
    case X_OR:
        return bool_to_real(g, LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealUNE, x, zero, ""),
                                           LLVMBuildFCmp(b, LLVMRealUNE, y, zero, ""), ""));
    case X_NOT: return bool_to_real(g, LLVMBuildFCmp(b, LLVMRealOEQ, x, zero, ""));
    case X_SELECT:
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNE, x, zero, ""), y, val[n->c], "");
    default: return zero;
    }
}

/* Marks every node the roots depend on. */
static void mark_needed(const phys_dag *dag, int root, char *needed)
{
    if (root < 0 || needed[root]) return;
    needed[root] = 1;
    const dag_node *n = dag_at(dag, root);
    mark_needed(dag, n->a, needed);
    mark_needed(dag, n->b, needed);
    mark_needed(dag, n->c, needed);
}

/* ---------------------------------------------------------- loop bodies */

typedef struct {
    LLVMValueRef n, points, params, streams, dr, i;
    int n_coords;
    LLVMValueRef *param_values;   /* hoisted loads, per param (NULL until used) */
    LLVMValueRef *stream_ptrs;    /* hoisted, per slot */
    LLVMBasicBlockRef entry_end;  /* where hoisted loads go */
    /* kernels over index sets: coordinates are gathered per item */
    const lw_gather *gathers;     /* NULL: coordinates are rows of points */
    LLVMValueRef first, second, third, shift, seeds;
    LLVMValueRef *arrays;         /* hoisted attribute array pointers */
    LLVMValueRef role_index[3];   /* the item's particles, in the loop body */
    int dim, shift_stride;        /* numbers of image shift per item */
} loop_ctx;

static LLVMValueRef gep(gen *g, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef index)
{
    return LLVMBuildGEP2(g->b, elem, base, &index, 1, "");
}

static LLVMValueRef leaf_value(gen *g, void *vctx, const dag_node *n)
{
    loop_ctx *lc = vctx;
    LLVMBuilderRef b = g->b;
    switch (n->op) {
    case X_COORD: {
        if (lc->gathers) {
            const lw_gather *gt = &lc->gathers[n->index];
            LLVMValueRef w = LLVMConstInt(g->i64, (unsigned)(gt->shift ? lc->shift_stride : gt->width), 0);
            LLVMValueRef row = gt->shift ? lc->i : lc->role_index[gt->role];
            int col = gt->shift ? (gt->role - 1) * lc->dim + gt->comp : gt->comp;
            LLVMValueRef idx = LLVMBuildAdd(b, LLVMBuildMul(b, row, w, ""), LLVMConstInt(g->i64, (unsigned)col, 0), "");
            return LLVMBuildLoad2(b, g->real, gep(g, g->real, gt->shift ? lc->shift : lc->arrays[gt->array], idx), "");
        }
        LLVMValueRef idx = LLVMBuildAdd(b, LLVMBuildMul(b, lc->i, LLVMConstInt(g->i64, (unsigned)lc->n_coords, 0), ""),
                                        LLVMConstInt(g->i64, (unsigned)n->index, 0), "");
        return LLVMBuildLoad2(b, g->real, gep(g, g->real, lc->points, idx), "");
    }
    case X_PARAM:
        return lc->param_values[n->index];
    case X_STREAM:
        return LLVMBuildLoad2(b, g->real, gep(g, g->real, lc->stream_ptrs[n->index], lc->i), "");
    case X_SEED: {
        if (lc->seeds)
            return LLVMBuildLoad2(b, g->real, gep(g, g->real, lc->seeds, LLVMConstInt(g->i64, (unsigned)n->index, 0)), "");
        LLVMValueRef idx = LLVMBuildAdd(b, LLVMBuildMul(b, LLVMConstInt(g->i64, (unsigned)n->index, 0), lc->n, ""), lc->i, "");
        return LLVMBuildLoad2(b, g->real, gep(g, g->real, lc->dr, idx), "");
    }
    default:
        return real_const(g, 0.0);
    }
}

/* What a loop writes: node value to base[row * n + i] (row >= 0), or to
 * base[i * stride + col] (stride > 0), or added into an accumulator. */
typedef struct {
    int node;                 /* -1 = zero */
    LLVMValueRef base;        /* pointer, hoisted */
    int row;
    int stride, col;
    LLVMValueRef accumulator; /* alloca: sum over points */
    int scatter_role;         /* > 0: base[particle(role - 1) * stride + col] += value */
} store_spec;

/* Functions beyond this many operations (the dynamics of dozens of
 * particles, unrolled over every pair) are compiled without optimisation:
 * at -O2 LLVM takes minutes on them, most of it in the vectoriser and the
 * register allocator, for code that runs a few times per step. */
enum { HUGE_FUNCTION_NODES = 20000 };

static void compile_fast(gen *g, LLVMValueRef fn)
{
    const char *names[2] = {"optnone", "noinline"};
    for (int k = 0; k < 2; k++) {
        unsigned kind = LLVMGetEnumAttributeKindForName(names[k], strlen(names[k]));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->ctx, kind, 0));
    }
}

/* One store of value v at item lc->i (role_index loaded). */
static void emit_store(gen *g, loop_ctx *lc, const store_spec *st, LLVMValueRef v)
{
    LLVMBuilderRef b = g->b;
    LLVMValueRef i = lc->i;
    if (st->accumulator) {
        LLVMValueRef old = LLVMBuildLoad2(b, g->real, st->accumulator, "");
        LLVMBuildStore(b, LLVMBuildFAdd(b, old, v, ""), st->accumulator);
    } else if (st->scatter_role > 0) {
        LLVMValueRef idx = LLVMBuildAdd(b, LLVMBuildMul(b, lc->role_index[st->scatter_role - 1],
                                                        LLVMConstInt(g->i64, (unsigned)st->stride, 0), ""),
                                        LLVMConstInt(g->i64, (unsigned)st->col, 0), "");
        LLVMValueRef at = gep(g, g->real, st->base, idx);
        LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, g->real, at, ""), v, ""), at);
    } else if (st->stride > 0) {
        LLVMValueRef idx = LLVMBuildAdd(b, LLVMBuildMul(b, i, LLVMConstInt(g->i64, (unsigned)st->stride, 0), ""),
                                        LLVMConstInt(g->i64, (unsigned)st->col, 0), "");
        LLVMBuildStore(b, v, gep(g, g->real, st->base, idx));
    } else {
        LLVMValueRef idx = LLVMBuildAdd(b, LLVMBuildMul(b, LLVMConstInt(g->i64, (unsigned)st->row, 0), lc->n, ""), i, "");
        LLVMBuildStore(b, v, gep(g, g->real, st->base, idx));
    }
}

static void load_roles(gen *g, loop_ctx *lc, LLVMValueRef item)
{
    LLVMValueRef idx[3] = {lc->first, lc->second, lc->third};
    for (int r = 0; r < 3; r++)
        lc->role_index[r] = LLVMBuildSExt(g->b, LLVMBuildLoad2(g->b, g->i32, gep(g, g->i32, idx[r], item), ""), g->i64, "");
}

/* Closes a counted loop at the builder's block: i (a phi that starts at 0
 * coming from `from`) steps by one back to `body` while below limit, then
 * goes on to `exit`. */
static void end_counted_loop(gen *g, LLVMValueRef i, LLVMValueRef limit, LLVMBasicBlockRef from,
                             LLVMBasicBlockRef body, LLVMBasicBlockRef exit)
{
    LLVMValueRef next = LLVMBuildAdd(g->b, i, LLVMConstInt(g->i64, 1, 0), "");
    LLVMBasicBlockRef end = LLVMGetInsertBlock(g->b);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, next, limit, ""), body, exit);
    LLVMValueRef in[2] = {LLVMConstInt(g->i64, 0, 0), next};
    LLVMBasicBlockRef bb[2] = {from, end};
    LLVMAddIncoming(i, in, bb, 2);
}

enum { KERNEL_BLOCK = 256 };

/* A kernel's loop in two phases per block of KERNEL_BLOCK items: the
 * values of every item into a block buffer (no stores to shared memory,
 * so LLVM vectorises it: gathers, arithmetic, inline cospi and exp), then
 * the scatter-adds and sums item by item, in order (the results do not
 * depend on the split). */
static void emit_kernel_loop(gen *g, loop_ctx *lc, LLVMValueRef fn, const store_spec *stores, int n_stores)
{
    LLVMBuilderRef b = g->b;
    LLVMValueRef block = LLVMConstInt(g->i64, KERNEL_BLOCK, 0);
    LLVMValueRef tmp = LLVMBuildAlloca(b, LLVMArrayType2(g->real, (uint64_t)(n_stores ? n_stores : 1) * KERNEL_BLOCK), "block");
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(g->ctx, fn, "block_head");
    LLVMBasicBlockRef values = LLVMAppendBasicBlockInContext(g->ctx, fn, "values");
    LLVMBasicBlockRef stores_bb = LLVMAppendBasicBlockInContext(g->ctx, fn, "stores");
    LLVMBasicBlockRef latch = LLVMAppendBasicBlockInContext(g->ctx, fn, "block_next");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->ctx, fn, "done");
    LLVMBuildBr(b, head);

    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef base = LLVMBuildPhi(b, g->i64, "base");
    LLVMValueRef rest = LLVMBuildSub(b, lc->n, base, "");
    LLVMValueRef m = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, rest, block, ""), rest, block, "m");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, base, lc->n, ""), values, done);

    /* phase 1: values */
    LLVMPositionBuilderAtEnd(b, values);
    LLVMValueRef i = LLVMBuildPhi(b, g->i64, "i");
    lc->i = LLVMBuildAdd(b, base, i, "item");
    load_roles(g, lc, lc->i);
    int size = dag_size(g->dag);
    char *needed = calloc((size_t)size, 1);
    LLVMValueRef *val = calloc((size_t)size, sizeof *val);
    if (!needed || !val) exit(70);
    for (int s = 0; s < n_stores; s++) mark_needed(g->dag, stores[s].node, needed);
    int n_emitted = 0;
    for (int id = 0; id < size; id++)
        if (needed[id]) val[id] = emit_node(g, dag_at(g->dag, id), val, leaf_value, lc), n_emitted++;
    for (int s = 0; s < n_stores; s++) {
        LLVMValueRef at = gep(g, g->real, tmp, LLVMBuildAdd(b, LLVMConstInt(g->i64, (unsigned)s * KERNEL_BLOCK, 0), i, ""));
        LLVMBuildStore(b, stores[s].node >= 0 ? val[stores[s].node] : real_const(g, 0.0), at);
    }
    end_counted_loop(g, i, m, head, values, stores_bb);
    LLVMBasicBlockRef values_end = LLVMGetInsertBlock(b);

    /* phase 2: stores, in item order */
    LLVMPositionBuilderAtEnd(b, stores_bb);
    LLVMValueRef j = LLVMBuildPhi(b, g->i64, "j");
    lc->i = LLVMBuildAdd(b, base, j, "item");
    load_roles(g, lc, lc->i);
    for (int s = 0; s < n_stores; s++) {
        LLVMValueRef at = gep(g, g->real, tmp, LLVMBuildAdd(b, LLVMConstInt(g->i64, (unsigned)s * KERNEL_BLOCK, 0), j, ""));
        emit_store(g, lc, &stores[s], LLVMBuildLoad2(b, g->real, at, ""));
    }
    end_counted_loop(g, j, m, values_end, stores_bb, latch);

    LLVMPositionBuilderAtEnd(b, latch);
    LLVMValueRef base_next = LLVMBuildAdd(b, base, block, "");
    LLVMBuildBr(b, head);
    LLVMValueRef b_in[2] = {LLVMConstInt(g->i64, 0, 0), base_next};
    LLVMBasicBlockRef b_from[2] = {entry, latch};
    LLVMAddIncoming(base, b_in, b_from, 2);
    if (n_emitted > HUGE_FUNCTION_NODES) compile_fast(g, fn);
    LLVMPositionBuilderAtEnd(b, done);
    free(needed);
    free(val);
}

/* Builds: for (i = 0; i < n; i++) { nodes...; stores... } in the current
 * function, whose entry block the builder is at the end of. */
static void emit_loop(gen *g, loop_ctx *lc, LLVMValueRef fn, const store_spec *stores, int n_stores)
{
    LLVMBuilderRef b = g->b;
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->ctx, fn, "body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->ctx, fn, "done");
    LLVMValueRef any = LLVMBuildICmp(b, LLVMIntSGT, lc->n, LLVMConstInt(g->i64, 0, 0), "");
    LLVMBuildCondBr(b, any, body, done);

    LLVMPositionBuilderAtEnd(b, body);
    LLVMValueRef i = LLVMBuildPhi(b, g->i64, "i");
    lc->i = i;
    if (lc->gathers) {
        LLVMValueRef idx[3] = {lc->first, lc->second, lc->third};
        for (int r = 0; r < 3; r++)
            lc->role_index[r] = LLVMBuildSExt(b, LLVMBuildLoad2(b, g->i32, gep(g, g->i32, idx[r], i), ""), g->i64, "");
    }
    int size = dag_size(g->dag);
    char *needed = calloc((size_t)size, 1);
    LLVMValueRef *val = calloc((size_t)size, sizeof *val);
    if (!needed || !val) exit(70);
    for (int s = 0; s < n_stores; s++) mark_needed(g->dag, stores[s].node, needed);
    int n_emitted = 0;
    for (int id = 0; id < size; id++)
        if (needed[id]) val[id] = emit_node(g, dag_at(g->dag, id), val, leaf_value, lc), n_emitted++;
    for (int s = 0; s < n_stores; s++)
        emit_store(g, lc, &stores[s], stores[s].node >= 0 ? val[stores[s].node] : real_const(g, 0.0));
    LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(g->i64, 1, 0), "");
    LLVMBasicBlockRef body_end = LLVMGetInsertBlock(b);
    LLVMValueRef more = LLVMBuildICmp(b, LLVMIntSLT, next, lc->n, "");
    LLVMBuildCondBr(b, more, body, done);
    if (n_emitted > HUGE_FUNCTION_NODES) compile_fast(g, fn);
    LLVMValueRef incoming[2] = {LLVMConstInt(g->i64, 0, 0), next};
    LLVMBasicBlockRef from[2] = {entry, body_end};
    LLVMAddIncoming(i, incoming, from, 2);
    LLVMPositionBuilderAtEnd(b, done);
    free(needed);
    free(val);
}

static LLVMValueRef load_ptr(gen *g, LLVMValueRef array, int index)
{
    return LLVMBuildLoad2(g->b, g->ptr, gep(g, g->ptr, array, LLVMConstInt(g->i64, (unsigned)index, 0)), "");
}

/* Entry block of a pointwise function: n widened to i64, params hoisted. */
static void begin_function(gen *g, LLVMValueRef fn, loop_ctx *lc, int n_coords, LLVMValueRef params)
{
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->ctx, fn, "entry");
    LLVMPositionBuilderAtEnd(g->b, entry);
    lc->n = LLVMBuildSExt(g->b, LLVMGetParam(fn, 0), g->i64, "n");
    lc->points = LLVMGetParam(fn, 1);
    lc->params = params;
    lc->n_coords = n_coords;
    lc->param_values = calloc((size_t)g->m->n_params + 1, sizeof *lc->param_values);
    if (!lc->param_values) exit(70);
    for (int k = 0; k < g->m->n_params; k++)
        lc->param_values[k] = LLVMBuildLoad2(g->b, g->real, gep(g, g->real, params, LLVMConstInt(g->i64, (unsigned)k, 0)), "");
}

static LLVMValueRef new_function(gen *g, const char *name, int n_ptr_params)
{
    LLVMTypeRef params[12] = {g->i32};
    for (int i = 1; i <= n_ptr_params; i++) params[i] = g->ptr;
    LLVMValueRef fn = LLVMAddFunction(g->mod, name, LLVMFunctionType(LLVMVoidTypeInContext(g->ctx), params,
                                                                      (unsigned)(n_ptr_params + 1), 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    return fn;
}

static LLVMValueRef gen_inputs(gen *g, const lw_term *t, const char *name)
{
    LLVMValueRef fn = new_function(g, name, 3);
    loop_ctx lc = {0};
    begin_function(g, fn, &lc, t->n_coords, LLVMGetParam(fn, 2));
    int n_stores = 0;
    for (int k = 0; k < t->n_probes; k++) n_stores += g->m->fields[t->probes[k].field].n_inputs;
    store_spec *stores = calloc((size_t)n_stores + 1, sizeof *stores);
    if (!stores) exit(70);
    int s = 0;
    for (int k = 0; k < t->n_probes; k++) {
        const lw_field *f = &g->m->fields[t->probes[k].field];
        LLVMValueRef base = load_ptr(g, LLVMGetParam(fn, 3), k);
        for (int in = 0; in < f->n_inputs; in++) {
            stores[s].node = t->probes[k].inputs[in];
            stores[s].base = base;
            stores[s].stride = f->n_inputs;
            stores[s].col = in;
            s++;
        }
    }
    emit_loop(g, &lc, fn, stores, n_stores);
    LLVMBuildRetVoid(g->b);
    free(stores);
    free(lc.param_values);
    return fn;
}

/* Position in the runtime's pointer layout (probe-major, stream, output) of
 * the lowered slot s. */
static int slot_position(const gen *g, const lw_term *t, int s)
{
    const lw_slot *sl = &t->slots[s];
    int pos = 0;
    for (int k = 0; k < sl->probe; k++) {
        const lw_probe *p = &t->probes[k];
        pos += p->n_streams * g->m->fields[p->field].n_outputs;
    }
    return pos + sl->stream * g->m->fields[t->probes[sl->probe].field].n_outputs + sl->output;
}

static int layout_size(const gen *g, const lw_term *t)
{
    int n = 0;
    for (int k = 0; k < t->n_probes; k++) n += t->probes[k].n_streams * g->m->fields[t->probes[k].field].n_outputs;
    return n;
}

/* The stream pointers of term t's slots, hoisted from the pointer array
 * that is parameter `param` of fn. */
static void hoist_streams(gen *g, loop_ctx *lc, LLVMValueRef fn, unsigned param, const lw_term *t)
{
    lc->stream_ptrs = calloc((size_t)t->n_slots + 1, sizeof *lc->stream_ptrs);
    if (!lc->stream_ptrs) exit(70);
    for (int s = 0; s < t->n_slots; s++) lc->stream_ptrs[s] = load_ptr(g, LLVMGetParam(fn, param), slot_position(g, t, s));
}

static LLVMValueRef gen_residual(gen *g, const lw_term *t, const char *name)
{
    LLVMValueRef fn = new_function(g, name, 4);
    loop_ctx lc = {0};
    begin_function(g, fn, &lc, t->n_coords, LLVMGetParam(fn, 2));
    hoist_streams(g, &lc, fn, 3, t);
    store_spec *stores = calloc((size_t)t->n_residuals + 1, sizeof *stores);
    if (!stores) exit(70);
    for (int j = 0; j < t->n_residuals; j++) {
        stores[j].node = t->residuals[j];
        stores[j].base = LLVMGetParam(fn, 4);
        stores[j].row = j;
    }
    emit_loop(g, &lc, fn, stores, t->n_residuals);
    LLVMBuildRetVoid(g->b);
    free(stores);
    free(lc.param_values);
    free(lc.stream_ptrs);
    return fn;
}

static LLVMValueRef gen_vjp(gen *g, const lw_term *t, const char *name, const int *adjoint)
{
    LLVMValueRef fn = new_function(g, name, 6);
    loop_ctx lc = {0};
    begin_function(g, fn, &lc, t->n_coords, LLVMGetParam(fn, 2));
    lc.dr = LLVMGetParam(fn, 4);
    hoist_streams(g, &lc, fn, 3, t);

    int n_layout = layout_size(g, t);
    int n_stores = n_layout + g->m->n_params;
    store_spec *stores = calloc((size_t)n_stores + 1, sizeof *stores);
    LLVMValueRef *acc = calloc((size_t)g->m->n_params + 1, sizeof *acc);
    if (!stores || !acc) exit(70);
    /* every pointer of the layout is written: adjoint of its slot, or zero */
    for (int pos = 0; pos < n_layout; pos++) {
        stores[pos].node = -1;
        stores[pos].base = load_ptr(g, LLVMGetParam(fn, 5), pos);
        stores[pos].row = 0;
    }
    for (int s = 0; s < t->n_slots; s++) {
        int leaf = dag_leaf(g->dag, X_STREAM, s);
        stores[slot_position(g, t, s)].node = leaf < dag_size(g->dag) ? adjoint[leaf] : -1;
    }
    int n_acc = 0;
    for (int k = 0; k < g->m->n_params; k++) {
        int leaf = dag_leaf(g->dag, X_PARAM, k);
        if (adjoint[leaf] < 0) continue;
        acc[k] = LLVMBuildAlloca(g->b, g->real, "");
        LLVMBuildStore(g->b, real_const(g, 0.0), acc[k]);
        stores[n_layout + n_acc].node = adjoint[leaf];
        stores[n_layout + n_acc].accumulator = acc[k];
        n_acc++;
    }
    emit_loop(g, &lc, fn, stores, n_layout + n_acc);
    for (int k = 0; k < g->m->n_params; k++) {
        if (!acc[k]) continue;
        LLVMValueRef dst = gep(g, g->real, LLVMGetParam(fn, 6), LLVMConstInt(g->i64, (unsigned)k, 0));
        LLVMValueRef sum = LLVMBuildFAdd(g->b, LLVMBuildLoad2(g->b, g->real, dst, ""),
                                         LLVMBuildLoad2(g->b, g->real, acc[k], ""), "");
        LLVMBuildStore(g->b, sum, dst);
    }
    LLVMBuildRetVoid(g->b);
    free(stores);
    free(acc);
    free(lc.param_values);
    free(lc.stream_ptrs);
    return fn;
}

/* ----------------------------------------------------------- descriptor */

static LLVMValueRef global_const(gen *g, LLVMValueRef init, const char *name)
{
    LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
    return gv;
}

static LLVMValueRef cstring(gen *g, const char *s)
{
    if (!s) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef str = LLVMConstStringInContext(g->ctx, s, (unsigned)strlen(s), 0);
    return global_const(g, str, "str");
}

static LLVMValueRef int_array(gen *g, const int *v, int n)
{
    if (n == 0) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef *el = malloc(sizeof *el * (size_t)n);
    if (!el) exit(70);
    for (int i = 0; i < n; i++) el[i] = LLVMConstInt(g->i32, (unsigned long long)(long long)v[i], 1);
    LLVMValueRef arr = global_const(g, LLVMConstArray2(g->i32, el, (uint64_t)n), "ints");
    free(el);
    return arr;
}

static LLVMValueRef double_array(gen *g, const double *v, int n)
{
    if (n == 0) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef *el = malloc(sizeof *el * (size_t)n);
    if (!el) exit(70);
    for (int i = 0; i < n; i++) el[i] = LLVMConstReal(g->f64, v[i]);
    LLVMValueRef arr = global_const(g, LLVMConstArray2(g->f64, el, (uint64_t)n), "doubles");
    free(el);
    return arr;
}

static LLVMValueRef string_array(gen *g, const char *const *v, int n)
{
    if (n == 0) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef *el = malloc(sizeof *el * (size_t)n);
    if (!el) exit(70);
    for (int i = 0; i < n; i++) el[i] = cstring(g, v[i]);
    LLVMValueRef arr = global_const(g, LLVMConstArray2(g->ptr, el, (uint64_t)n), "names");
    free(el);
    return arr;
}

static LLVMValueRef struct_array(gen *g, LLVMTypeRef type, LLVMValueRef *el, int n, const char *name)
{
    if (n == 0) return LLVMConstPointerNull(g->ptr);
    return global_const(g, LLVMConstArray2(type, el, (uint64_t)n), name);
}

#define I32(v) LLVMConstInt(g->i32, (unsigned long long)(long long)(v), 1)
#define I64(v) LLVMConstInt(g->i64, (unsigned long long)(long long)(v), 1)
#define F64(v) LLVMConstReal(g->f64, (v))

/* LLVM mirrors of the structs of physmodel_abi.h, indexed by
 * physm_abi_layout (natural alignment gives the C layout). */
typedef struct {
    LLVMTypeRef of[PHYSM_ABI_N_LAYOUTS];
} descriptor_types;

void phys_codegen_abi_types(LLVMContextRef ctx, LLVMTypeRef types[PHYSM_ABI_N_LAYOUTS])
{
    types[PHYSM_ABI_PTR] = LLVMPointerTypeInContext(ctx, 0);
    types[PHYSM_ABI_I32] = LLVMInt32TypeInContext(ctx);
    types[PHYSM_ABI_I64] = LLVMInt64TypeInContext(ctx);
    types[PHYSM_ABI_F64] = LLVMDoubleTypeInContext(ctx);
#define ELEMENT(ID, member, kind) types[PHYSM_ABI_##kind],
#define MIRROR(ID, c_type)                                                  \
    {                                                                       \
        LLVMTypeRef elements[] = {PHYSM_ABI_MEMBERS_##ID(ELEMENT, ID)};     \
        types[PHYSM_ABI_##ID] = LLVMStructCreateNamed(ctx, #c_type);        \
        LLVMStructSetBody(types[PHYSM_ABI_##ID], elements, ID##__COUNT, 0); \
    }
    PHYSM_ABI_STRUCTS(MIRROR)
#undef MIRROR
#undef ELEMENT
}

/* A constant of struct id from its members' values, indexed by member
 * (TERM_weight, ...), so that a value lands on its member whatever the
 * order; a member left without a value is a bug in this file. */
#define MEMBER_NAME(ID, member, kind) #member,
#define MEMBER_NAMES(ID, c_type) [PHYSM_ABI_##ID] = (const char *const[]){PHYSM_ABI_MEMBERS_##ID(MEMBER_NAME, ID)},
static const char *const *const member_names[PHYSM_ABI_N_LAYOUTS] = {PHYSM_ABI_STRUCTS(MEMBER_NAMES)};
#undef MEMBER_NAMES
#undef MEMBER_NAME

static LLVMValueRef abi_struct(const descriptor_types *ty, physm_abi_layout id, LLVMValueRef *members)
{
    unsigned n = LLVMCountStructElementTypes(ty->of[id]);
    for (unsigned i = 0; i < n; i++) {
        if (members[i]) continue;
        fprintf(stderr, "physc: internal error: no value for %s.%s\n", LLVMGetStructName(ty->of[id]), member_names[id][i]);
        exit(70);
    }
    return LLVMConstNamedStruct(ty->of[id], members, n);
}

/* The physm_probe array of a term. */
static LLVMValueRef probe_array(gen *g, const descriptor_types *ty, const lw_term *t)
{
    LLVMValueRef *probes = calloc((size_t)t->n_probes + 1, sizeof *probes);
    if (!probes) exit(70);
    for (int k = 0; k < t->n_probes; k++) {
        const lw_probe *p = &t->probes[k];
        int n_in = g->m->fields[p->field].n_inputs;
        int *flat = malloc(sizeof(int) * (size_t)(p->n_streams * n_in + 1));
        if (!flat) exit(70);
        for (int s = 0; s < p->n_streams; s++)
            for (int i = 0; i < n_in; i++) flat[s * n_in + i] = p->streams[s][i];
        LLVMValueRef v[PROBE__COUNT] = {0};
        v[PROBE_field] = I32(p->field);
        v[PROBE_n_streams] = I32(p->n_streams);
        v[PROBE_streams] = int_array(g, flat, p->n_streams * n_in);
        probes[k] = abi_struct(ty, PHYSM_ABI_PROBE, v);
        free(flat);
    }
    LLVMValueRef arr = struct_array(g, ty->of[PHYSM_ABI_PROBE], probes, t->n_probes, "probes");
    free(probes);
    return arr;
}

/* A physm_term: its pointwise functions (prefix_inputs_f64, ...) and data.
 * Loss terms get every function; the dynamics' pseudo-terms (evaluate_only)
 * are only evaluated, in float64, so they get inputs_f64 and residual_f64. */
static LLVMValueRef gen_term(gen *g, const descriptor_types *ty, const lw_term *t, const char *prefix,
                             int evaluate_only)
{
    const lw_model *m = g->m;
    LLVMTypeRef P = g->ptr;
    LLVMValueRef fns[6];
    for (int k = 0; k < 6; k++) fns[k] = LLVMConstPointerNull(P);
    int *seeds = NULL, *adjoint = NULL;
    if (!evaluate_only) { /* the VJP: one reverse sweep over the residual DAG, seeded by dr */
        seeds = malloc(sizeof(int) * (size_t)(t->n_residuals + 1));
        if (!seeds) exit(70);
        for (int j = 0; j < t->n_residuals; j++) seeds[j] = dag_leaf(g->dag, X_SEED, j);
        for (int s = 0; s < t->n_slots; s++) dag_leaf(g->dag, X_STREAM, s); /* exist before the sweep */
        for (int k = 0; k < m->n_params; k++) dag_leaf(g->dag, X_PARAM, k);
        adjoint = malloc(sizeof(int) * (size_t)dag_size(g->dag));
        if (!adjoint) exit(70);
        dag_reverse(g->dag, t->n_residuals, t->residuals, seeds, adjoint);
    }
    const char *suffix[2] = {"f64", "f32"};
    for (int prec = 0; prec < (t->frames ? 0 : evaluate_only ? 1 : 2); prec++) {
        char name[96];
        g->real = prec == 0 ? g->f64 : LLVMFloatTypeInContext(g->ctx);
        snprintf(name, sizeof name, "%s_inputs_%s", prefix, suffix[prec]);
        fns[0 + prec] = gen_inputs(g, t, name);
        snprintf(name, sizeof name, "%s_residual_%s", prefix, suffix[prec]);
        fns[2 + prec] = gen_residual(g, t, name);
        if (evaluate_only) continue;
        snprintf(name, sizeof name, "%s_vjp_%s", prefix, suffix[prec]);
        fns[4 + prec] = gen_vjp(g, t, name, adjoint);
    }
    free(adjoint);
    free(seeds);

    LLVMValueRef *faces = calloc((size_t)t->n_faces + 1, sizeof *faces);
    if (!faces) exit(70);
    for (int k = 0; k < t->n_faces; k++) {
        const lw_face *f = &t->faces[k];
        LLVMValueRef v[FACE__COUNT] = {0};
        v[FACE_n_fixed] = I32(f->n_fixed);
        v[FACE_coords] = int_array(g, f->coords, f->n_fixed);
        v[FACE_values] = double_array(g, f->values, f->n_fixed);
        faces[k] = abi_struct(ty, PHYSM_ABI_FACE, v);
    }
    int sampled = t->kind != PHYSM_DATA;
    int n_columns = t->pair_rows ? t->n_coords / 2 : t->n_coords;
    LLVMValueRef v[TERM__COUNT] = {0};
    v[TERM_name] = cstring(g, t->name);
    v[TERM_kind] = I32(t->kind);
    v[TERM_weight] = F64(t->weight);
    v[TERM_n_coords] = I32(t->n_coords);
    v[TERM_coord_names] = string_array(g, t->coords, t->n_coords);
    v[TERM_lo] = sampled ? double_array(g, t->lo, t->n_coords) : LLVMConstPointerNull(P);
    v[TERM_hi] = sampled ? double_array(g, t->hi, t->n_coords) : LLVMConstPointerNull(P);
    v[TERM_n_faces] = I32(t->n_faces);
    v[TERM_faces] = struct_array(g, ty->of[PHYSM_ABI_FACE], faces, t->n_faces, "faces");
    v[TERM_n_points] = I32(t->n_points);
    v[TERM_sampler] = I32(t->sampler);
    v[TERM_weight_rule] = I32(t->weight_rule);
    v[TERM_weight_every] = I64(t->weight_every);
    v[TERM_weight_alpha] = F64(t->weight_alpha);
    v[TERM_adapt] = I32(t->adapt);
    v[TERM_adapt_every] = I64(t->adapt_every);
    v[TERM_adapt_fraction] = F64(t->adapt_fraction);
    v[TERM_adapt_k] = F64(t->adapt_k);
    v[TERM_adapt_c] = F64(t->adapt_c);
    v[TERM_adapt_pool] = I32(t->adapt_pool);
    v[TERM_data_file] = cstring(g, t->data_file);
    v[TERM_columns] = sampled ? LLVMConstPointerNull(P) : string_array(g, t->coords, n_columns);
    v[TERM_pair_rows] = I32(t->pair_rows);
    v[TERM_time_column] = I32(t->time_column);
    v[TERM_frames] = I32(t->frames);
    v[TERM_n_probes] = I32(t->n_probes);
    v[TERM_probes] = probe_array(g, ty, t);
    v[TERM_n_residuals] = I32(t->n_residuals);
    v[TERM_inputs_f64] = fns[0];
    v[TERM_inputs_f32] = fns[1];
    v[TERM_residual_f64] = fns[2];
    v[TERM_residual_f32] = fns[3];
    v[TERM_residual_vjp_f64] = fns[4];
    v[TERM_residual_vjp_f32] = fns[5];
    free(faces);
    return abi_struct(ty, PHYSM_ABI_TERM, v);
}

/* A pseudo-term of the dynamics, as a pointer to its own constant. */
static LLVMValueRef gen_pseudo_term(gen *g, const descriptor_types *ty, const lw_term *t, const char *prefix)
{
    if (!t) return LLVMConstPointerNull(g->ptr);
    return global_const(g, gen_term(g, ty, t, prefix, 1), prefix);
}

static LLVMValueRef gen_dynamics(gen *g, const descriptor_types *ty)
{
    const lw_dynamics *d = g->m->dynamics;
    if (!d) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef v[DYNAMICS__COUNT] = {0};
    v[DYNAMICS_kind] = I32(d->kind);
    v[DYNAMICS_n_state] = I32(d->n_state);
    v[DYNAMICS_n_aux] = I32(d->n_aux);
    v[DYNAMICS_names] = string_array(g, d->names, d->n_state + d->n_aux);
    v[DYNAMICS_n_half] = I32(d->n_half);
    v[DYNAMICS_separable] = I32(d->separable);
    v[DYNAMICS_dim] = I32(d->dim);
    v[DYNAMICS_rhs] = gen_pseudo_term(g, ty, d->rhs, "dynamics_rhs");
    v[DYNAMICS_energy] = gen_pseudo_term(g, ty, d->energy, "dynamics_energy");
    v[DYNAMICS_momentum] = gen_pseudo_term(g, ty, d->momentum, "dynamics_momentum");
    v[DYNAMICS_conserve_energy] = I32(d->conserve_energy);
    v[DYNAMICS_conserve_momentum] = I32(d->conserve_momentum);
    return global_const(g, abi_struct(ty, PHYSM_ABI_DYNAMICS, v), "dynamics");
}

static LLVMValueRef gen_simulations(gen *g, const descriptor_types *ty)
{
    const lw_model *m = g->m;
    LLVMValueRef *sims = calloc((size_t)m->n_simulations + 1, sizeof *sims);
    if (!sims) exit(70);
    int n_point = m->dynamics ? m->dynamics->n_state + m->dynamics->n_aux : 0;
    for (int i = 0; i < m->n_simulations; i++) {
        const lw_simulation *s = &m->simulations[i];
        LLVMValueRef v[SIMULATION__COUNT] = {0};
        v[SIMULATION_name] = cstring(g, s->name);
        v[SIMULATION_integrator] = I32(s->integrator);
        v[SIMULATION_dt] = F64(s->dt);
        v[SIMULATION_steps] = I64(s->steps);
        v[SIMULATION_every] = I64(s->every);
        v[SIMULATION_tolerance] = F64(s->tolerance);
        v[SIMULATION_start] = s->start ? double_array(g, s->start, n_point) : LLVMConstPointerNull(g->ptr);
        v[SIMULATION_start_file] = cstring(g, s->start_file);
        v[SIMULATION_out_file] = cstring(g, s->out_file);
        v[SIMULATION_kT] = F64(s->kT);
        v[SIMULATION_damping] = F64(s->damping);
        v[SIMULATION_seed] = I64(s->seed);
        sims[i] = abi_struct(ty, PHYSM_ABI_SIMULATION, v);
    }
    LLVMValueRef arr = struct_array(g, ty->of[PHYSM_ABI_SIMULATION], sims, m->n_simulations, "simulations");
    free(sims);
    return arr;
}

/* ------------------------------------------------------------- kernels */

/* Entry block of a kernel loop (physm_kernel_*_f64): n, the item index
 * arrays, the attribute arrays hoisted, the params. */
static void begin_kernel(gen *g, LLVMValueRef fn, loop_ctx *lc, const lw_kernel *k)
{
    begin_function(g, fn, lc, k->term->n_coords, LLVMGetParam(fn, 6));
    lc->gathers = k->gathers;
    lc->first = LLVMGetParam(fn, 1);
    lc->second = LLVMGetParam(fn, 2);
    lc->third = LLVMGetParam(fn, 3);
    lc->shift = LLVMGetParam(fn, 4);
    lc->dim = g->m->system->dim;
    lc->shift_stride = (k->kind == PHYSM_TRIPLETS ? 2 : 1) * lc->dim;
    int n_arrays = g->m->system->n_arrays;
    lc->arrays = calloc((size_t)n_arrays + 1, sizeof *lc->arrays);
    if (!lc->arrays) exit(70);
    for (int a = 0; a < n_arrays; a++) lc->arrays[a] = load_ptr(g, LLVMGetParam(fn, 5), a);
}

static void end_kernel(loop_ctx *lc)
{
    free(lc->param_values);
    free(lc->stream_ptrs);
    free(lc->arrays);
}

static LLVMValueRef gen_kernel_inputs(gen *g, const lw_kernel *k, const char *name)
{
    const lw_term *t = k->term;
    LLVMValueRef fn = new_function(g, name, 7);
    loop_ctx lc = {0};
    begin_kernel(g, fn, &lc, k);
    int n_stores = 0;
    for (int p = 0; p < t->n_probes; p++) n_stores += g->m->fields[t->probes[p].field].n_inputs;
    store_spec *stores = calloc((size_t)n_stores + 1, sizeof *stores);
    if (!stores) exit(70);
    int s = 0;
    for (int p = 0; p < t->n_probes; p++) {
        const lw_field *f = &g->m->fields[t->probes[p].field];
        LLVMValueRef base = load_ptr(g, LLVMGetParam(fn, 7), p);
        for (int in = 0; in < f->n_inputs; in++, s++)
            stores[s] = (store_spec){.node = t->probes[p].inputs[in], .base = base, .stride = f->n_inputs, .col = in};
    }
    emit_loop(g, &lc, fn, stores, n_stores);
    LLVMBuildRetVoid(g->b);
    free(stores);
    end_kernel(&lc);
    return fn;
}

/* The kernel's sum (added to sums[sum_index]) and, with_forces, its
 * scatter-adds into scatter[set]. */
static LLVMValueRef gen_kernel_body(gen *g, const lw_kernel *k, const char *name, int with_forces, const int *nodes)
{
    const lw_term *t = k->term;
    LLVMValueRef fn = new_function(g, name, 10);
    loop_ctx lc = {0};
    begin_kernel(g, fn, &lc, k);
    lc.seeds = LLVMGetParam(fn, 8);
    hoist_streams(g, &lc, fn, 7, t);
    store_spec *stores = calloc((size_t)k->n_scatters + 2, sizeof *stores);
    if (!stores) exit(70);
    int n = 0;
    LLVMValueRef acc = NULL;
    if (k->sum >= 0 && !nodes) {
        acc = LLVMBuildAlloca(g->b, g->real, "");
        LLVMBuildStore(g->b, real_const(g, 0.0), acc);
        stores[n++] = (store_spec){.node = k->sum, .accumulator = acc};
    }
    LLVMValueRef set_base[8] = {0};
    for (int s = 0; with_forces && s < k->n_scatters; s++) {
        const lw_scatter *sc = &k->scatters[s];
        if (!set_base[sc->set]) set_base[sc->set] = load_ptr(g, LLVMGetParam(fn, 9), sc->set);
        stores[n++] = (store_spec){.node = nodes ? nodes[s] : sc->node, .base = set_base[sc->set], .stride = lc.dim,
                                   .col = sc->comp, .scatter_role = sc->role + 1};
    }
    g->inline_exp = 1;
    emit_kernel_loop(g, &lc, fn, stores, n);
    g->inline_exp = 0;
    if (acc) {
        LLVMValueRef dst = gep(g, g->real, LLVMGetParam(fn, 10), LLVMConstInt(g->i64, (unsigned)k->sum_index, 0));
        LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, LLVMBuildLoad2(g->b, g->real, dst, ""),
                                           LLVMBuildLoad2(g->b, g->real, acc, ""), ""), dst);
    }
    LLVMBuildRetVoid(g->b);
    free(stores);
    end_kernel(&lc);
    return fn;
}

/* A descriptor kernel's per-item values (nodes: its features or their
 * tangents), added to scatter[0][centre * n_features + offset + f]. */
static LLVMValueRef gen_kernel_features(gen *g, const lw_kernel *k, const char *name, const int *nodes)
{
    LLVMValueRef fn = new_function(g, name, 10);
    loop_ctx lc = {0};
    begin_kernel(g, fn, &lc, k);
    store_spec *stores = calloc((size_t)k->n_features + 1, sizeof *stores);
    if (!stores) exit(70);
    LLVMValueRef base = load_ptr(g, LLVMGetParam(fn, 9), 0);
    for (int f = 0; f < k->n_features; f++)
        stores[f] = (store_spec){.node = nodes[f], .base = base, .stride = g->m->system->atomic->n_features,
                                 .col = k->feature_offset + f, .scatter_role = 1};
    g->inline_exp = 1;
    emit_kernel_loop(g, &lc, fn, stores, k->n_features);
    g->inline_exp = 0;
    LLVMBuildRetVoid(g->b);
    free(stores);
    end_kernel(&lc);
    return fn;
}

/* A descriptor kernel's Jacobian (physm_kernel.jacobian_f64): n_jacobian
 * numbers per item, stored at scatter[0][item * n_jacobian + q]. */
static LLVMValueRef gen_kernel_jacobian(gen *g, const lw_kernel *k, const char *name)
{
    LLVMValueRef fn = new_function(g, name, 10);
    loop_ctx lc = {0};
    begin_kernel(g, fn, &lc, k);
    store_spec *stores = calloc((size_t)k->n_jacobian + 1, sizeof *stores);
    if (!stores) exit(70);
    LLVMValueRef base = load_ptr(g, LLVMGetParam(fn, 9), 0);
    for (int q = 0; q < k->n_jacobian; q++)
        stores[q] = (store_spec){.node = k->jacobian[q], .base = base, .stride = k->n_jacobian, .col = q};
    g->inline_exp = 1;
    emit_kernel_loop(g, &lc, fn, stores, k->n_jacobian);
    g->inline_exp = 0;
    LLVMBuildRetVoid(g->b);
    free(stores);
    end_kernel(&lc);
    return fn;
}

/* The kernel's virial: dim x dim sums over its items (physm_kernel.virial_f64). */
static LLVMValueRef gen_kernel_virial(gen *g, const lw_kernel *k, const char *name)
{
    LLVMValueRef fn = new_function(g, name, 10);
    loop_ctx lc = {0};
    begin_kernel(g, fn, &lc, k);
    lc.seeds = LLVMGetParam(fn, 8);
    hoist_streams(g, &lc, fn, 7, k->term);
    store_spec stores[9];
    LLVMValueRef acc[9];
    for (int q = 0; q < k->n_virial; q++) {
        acc[q] = LLVMBuildAlloca(g->b, g->real, "");
        LLVMBuildStore(g->b, real_const(g, 0.0), acc[q]);
        stores[q] = (store_spec){.node = k->virial[q], .accumulator = acc[q]};
    }
    g->inline_exp = 1;
    emit_kernel_loop(g, &lc, fn, stores, k->n_virial);
    g->inline_exp = 0;
    for (int q = 0; q < k->n_virial; q++) {
        LLVMValueRef dst = gep(g, g->real, LLVMGetParam(fn, 10), LLVMConstInt(g->i64, (unsigned)q, 0));
        LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, LLVMBuildLoad2(g->b, g->real, dst, ""),
                                           LLVMBuildLoad2(g->b, g->real, acc[q], ""), ""), dst);
    }
    LLVMBuildRetVoid(g->b);
    end_kernel(&lc);
    return fn;
}

static LLVMValueRef gen_atomic(gen *g, const descriptor_types *ty)
{
    const lw_atomic *a = g->m->system->atomic;
    if (!a) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef v[ATOMIC__COUNT] = {0};
    v[ATOMIC_field] = I32(a->field);
    v[ATOMIC_set] = I32(a->set);
    v[ATOMIC_n_features] = I32(a->n_features);
    v[ATOMIC_sum_index] = I32(a->sum_index);
    v[ATOMIC_seed_array] = I32(a->seed_array);
    v[ATOMIC_tangent_array] = I32(a->tangent_array);
    int fields[8];
    for (int e = 0; e < a->n_elements; e++) fields[e] = a->field + e;
    v[ATOMIC_n_elements] = I32(a->n_elements);
    v[ATOMIC_fields] = int_array(g, fields, a->n_elements);
    v[ATOMIC_elements] = string_array(g, a->elements, a->n_elements);
    v[ATOMIC_species_array] = I32(a->species_array);
    return global_const(g, abi_struct(ty, PHYSM_ABI_ATOMIC, v), "atomic");
}

static LLVMValueRef gen_system(gen *g, const descriptor_types *ty)
{
    const lw_system *s = g->m->system;
    if (!s) return LLVMConstPointerNull(g->ptr);
    g->real = g->f64;
    LLVMValueRef sets[8], *kernels = calloc((size_t)s->n_kernels + 1, sizeof *kernels);
    if (!kernels) exit(70);
    for (int i = 0; i < s->n_sets; i++) {
        const lw_particle_set *set = &s->sets[i];
        LLVMValueRef attrs[32];
        for (int a = 0; a < set->n_attributes; a++) {
            const lw_attribute *at = &set->attributes[a];
            LLVMValueRef v[ATTRIBUTE__COUNT] = {0};
            v[ATTRIBUTE_name] = cstring(g, at->name);
            v[ATTRIBUTE_width] = I32(at->width);
            v[ATTRIBUTE_role] = I32(at->role);
            v[ATTRIBUTE_array] = I32(at->array);
            attrs[a] = abi_struct(ty, PHYSM_ABI_ATTRIBUTE, v);
        }
        LLVMValueRef v[PARTICLE_SET__COUNT] = {0};
        v[PARTICLE_SET_name] = cstring(g, set->name);
        v[PARTICLE_SET_count] = I64(set->count);
        v[PARTICLE_SET_n_attributes] = I32(set->n_attributes);
        v[PARTICLE_SET_attributes] = struct_array(g, ty->of[PHYSM_ABI_ATTRIBUTE], attrs, set->n_attributes, "attributes");
        v[PARTICLE_SET_moves] = I32(set->moves);
        sets[i] = abi_struct(ty, PHYSM_ABI_PARTICLE_SET, v);
    }
    for (int i = 0; i < s->n_kernels; i++) {
        const lw_kernel *k = &s->kernels[i];
        char name[64];
        LLVMValueRef inputs = LLVMConstPointerNull(g->ptr), sum = inputs;
        if (k->term->n_probes) {
            snprintf(name, sizeof name, "kernel%d_inputs_f64", i);
            inputs = gen_kernel_inputs(g, k, name);
        }
        if (k->sum >= 0) {
            snprintf(name, sizeof name, "kernel%d_sum_f64", i);
            sum = gen_kernel_body(g, k, name, 0, NULL);
        }
        snprintf(name, sizeof name, "kernel%d_body_f64", i);
        LLVMValueRef body = gen_kernel_body(g, k, name, 1, NULL);
        LLVMValueRef hvp = LLVMConstPointerNull(g->ptr);
        if (k->hvp) {
            snprintf(name, sizeof name, "kernel%d_hvp_f64", i);
            hvp = gen_kernel_body(g, k, name, 1, k->hvp);
        }
        LLVMValueRef values = LLVMConstPointerNull(g->ptr), tangent = values;
        if (k->n_features) {
            snprintf(name, sizeof name, "kernel%d_values_f64", i);
            values = gen_kernel_features(g, k, name, k->features);
            snprintf(name, sizeof name, "kernel%d_tangent_f64", i);
            tangent = gen_kernel_features(g, k, name, k->tangents);
        }
        LLVMValueRef v[KERNEL__COUNT] = {0};
        v[KERNEL_name] = cstring(g, k->name);
        v[KERNEL_kind] = I32(k->kind);
        v[KERNEL_set_first] = I32(k->set_first);
        v[KERNEL_set_second] = I32(k->set_second);
        v[KERNEL_cutoff] = F64(k->cutoff);
        v[KERNEL_sum_index] = I32(k->sum_index);
        v[KERNEL_n_probes] = I32(k->term->n_probes);
        v[KERNEL_probes] = probe_array(g, ty, k->term);
        v[KERNEL_inputs_f64] = inputs;
        v[KERNEL_sum_f64] = sum;
        v[KERNEL_body_f64] = body;
        v[KERNEL_n_features] = I32(k->n_features);
        v[KERNEL_feature_offset] = I32(k->feature_offset);
        v[KERNEL_values_f64] = values;
        v[KERNEL_tangent_f64] = tangent;
        v[KERNEL_hvp_f64] = hvp;
        LLVMValueRef virial = LLVMConstPointerNull(g->ptr);
        if (k->virial) {
            snprintf(name, sizeof name, "kernel%d_virial_f64", i);
            virial = gen_kernel_virial(g, k, name);
        }
        v[KERNEL_virial_f64] = virial;
        LLVMValueRef jacobian = LLVMConstPointerNull(g->ptr);
        if (k->n_jacobian) {
            snprintf(name, sizeof name, "kernel%d_jacobian_f64", i);
            jacobian = gen_kernel_jacobian(g, k, name);
        }
        v[KERNEL_n_jacobian] = I32(k->n_jacobian);
        v[KERNEL_jacobian_f64] = jacobian;
        kernels[i] = abi_struct(ty, PHYSM_ABI_KERNEL, v);
    }
    LLVMValueRef v[SYSTEM__COUNT] = {0};
    v[SYSTEM_dim] = I32(s->dim);
    v[SYSTEM_n_sets] = I32(s->n_sets);
    v[SYSTEM_sets] = struct_array(g, ty->of[PHYSM_ABI_PARTICLE_SET], sets, s->n_sets, "sets");
    v[SYSTEM_n_arrays] = I32(s->n_arrays);
    v[SYSTEM_n_kernels] = I32(s->n_kernels);
    v[SYSTEM_kernels] = struct_array(g, ty->of[PHYSM_ABI_KERNEL], kernels, s->n_kernels, "kernels");
    v[SYSTEM_n_sums] = I32(s->n_sums);
    v[SYSTEM_combine] = gen_pseudo_term(g, ty, s->combine, "system_combine");
    v[SYSTEM_seeds_needed] = I32(s->seeds_needed);
    v[SYSTEM_mass] = F64(s->mass);
    v[SYSTEM_atomic] = gen_atomic(g, ty);
    v[SYSTEM_hvp_tangent_array] = I32(s->hvp_tangent_array);
    v[SYSTEM_hvp_seed_array] = I32(s->hvp_seed_array);
    free(kernels);
    return global_const(g, abi_struct(ty, PHYSM_ABI_SYSTEM, v), "system");
}

/* eval's named quantities (physm_quantities), NULL when there are none. */
static LLVMValueRef gen_quantities(gen *g, const descriptor_types *ty)
{
    const lw_model *m = g->m;
    if (m->n_quantities == 0) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef *lets = calloc((size_t)m->n_quantities, sizeof *lets);
    if (!lets) exit(70);
    for (int i = 0; i < m->n_quantities; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "quantity%d", i);
        lets[i] = gen_term(g, ty, &m->quantities[i], prefix, 1);
    }
    LLVMValueRef v[QUANTITIES__COUNT] = {0};
    v[QUANTITIES_n_lets] = I32(m->n_quantities);
    v[QUANTITIES_lets] = struct_array(g, ty->of[PHYSM_ABI_TERM], lets, m->n_quantities, "quantity_terms");
    LLVMValueRef q = abi_struct(ty, PHYSM_ABI_QUANTITIES, v);
    free(lets);
    return global_const(g, q, "quantities");
}

static LLVMValueRef gen_spins(gen *g, const descriptor_types *ty)
{
    const lw_spins *sp = g->m->spins;
    if (!sp) return LLVMConstPointerNull(g->ptr);
    LLVMValueRef *recalls = calloc((size_t)sp->n_recalls + 1, sizeof *recalls);
    if (!recalls) exit(70);
    for (int i = 0; i < sp->n_recalls; i++) {
        const lw_recall *r = &sp->recalls[i];
        LLVMValueRef v[RECALL__COUNT] = {0};
        v[RECALL_file] = cstring(g, r->file);
        v[RECALL_temperature] = F64(r->temperature);
        v[RECALL_sweeps] = I64(r->sweeps);
        v[RECALL_out_file] = cstring(g, r->out_file);
        recalls[i] = abi_struct(ty, PHYSM_ABI_RECALL, v);
    }
    LLVMValueRef sides = LLVMConstPointerNull(g->ptr);
    if (sp->lattice_dims > 0) {
        LLVMValueRef el[3];
        for (int k = 0; k < sp->lattice_dims && k < 3; k++) el[k] = I64(sp->lattice[k]);
        sides = global_const(g, LLVMConstArray2(g->i64, el, (uint64_t)(sp->lattice_dims < 3 ? sp->lattice_dims : 3)),
                             "lattice");
    }
    LLVMValueRef v[SPINS__COUNT] = {0};
    v[SPINS_name] = cstring(g, sp->name);
    v[SPINS_energy] = cstring(g, sp->energy_name);
    v[SPINS_n] = I64(sp->n);
    v[SPINS_coupling] = I32(sp->coupling);
    v[SPINS_coupling_name] = cstring(g, sp->coupling_name);
    v[SPINS_coupling_file] = cstring(g, sp->coupling_file);
    v[SPINS_lattice_dims] = I32(sp->lattice_dims);
    v[SPINS_lattice] = sides;
    v[SPINS_pair_scale] = F64(sp->pair_scale);
    v[SPINS_bias] = I32(sp->bias);
    v[SPINS_bias_name] = cstring(g, sp->bias_name);
    v[SPINS_bias_file] = cstring(g, sp->bias_file);
    v[SPINS_bias_scale] = F64(sp->bias_scale);
    v[SPINS_uniform_field] = F64(sp->uniform_field);
    v[SPINS_n_recalls] = I32(sp->n_recalls);
    v[SPINS_recalls] = struct_array(g, ty->of[PHYSM_ABI_RECALL], recalls, sp->n_recalls, "recalls");
    free(recalls);
    return global_const(g, abi_struct(ty, PHYSM_ABI_SPINS, v), "spins");
}

static void gen_descriptor(gen *g, const char *get_symbol, int with_main)
{
    const lw_model *m = g->m;
    LLVMTypeRef P = g->ptr, I = g->i32;
    descriptor_types ty;
    phys_codegen_abi_types(g->ctx, ty.of);

    LLVMValueRef *fields = calloc((size_t)m->n_fields + 1, sizeof *fields);
    LLVMValueRef *params = calloc((size_t)m->n_params + 1, sizeof *params);
    LLVMValueRef *terms = calloc((size_t)m->n_terms + 1, sizeof *terms);
    LLVMValueRef *stages = calloc((size_t)m->n_stages + 1, sizeof *stages);
    if (!fields || !params || !terms || !stages) exit(70);
    for (int i = 0; i < m->n_fields; i++) {
        const lw_field *f = &m->fields[i];
        LLVMValueRef eval = LLVMConstPointerNull(P), derivs = eval, net_streams = eval;
        int n_derivs = 0, n_net = 0;
        if (f->eval) { /* hard-constrained: value and derivatives through the transform */
            char name[64];
            snprintf(name, sizeof name, "field%d_eval_f64", i);
            g->real = g->f64;
            eval = gen_residual(g, f->eval, name);
            int flat[(1 + DAG_MAX_INPUTS + DAG_MAX_INPUTS * (DAG_MAX_INPUTS + 1) / 2) * DAG_MAX_INPUTS];
            for (int d = 0; d < f->n_derivs; d++)
                for (int k = 0; k < f->n_inputs; k++) flat[d * f->n_inputs + k] = f->derivs[d][k];
            n_derivs = f->n_derivs;
            derivs = int_array(g, flat, n_derivs * f->n_inputs);
            const lw_probe *p = &f->eval->probes[0];
            int streams[64 * DAG_MAX_INPUTS];
            for (int s = 0; s < p->n_streams; s++)
                for (int k = 0; k < f->n_inputs; k++) streams[s * f->n_inputs + k] = p->streams[s][k];
            n_net = p->n_streams;
            net_streams = int_array(g, streams, n_net * f->n_inputs);
        }
        LLVMValueRef v[FIELD__COUNT] = {0};
        v[FIELD_name] = cstring(g, f->name);
        v[FIELD_n_inputs] = I32(f->n_inputs);
        v[FIELD_input_names] = string_array(g, f->inputs, f->n_inputs);
        v[FIELD_n_outputs] = I32(f->n_outputs);
        v[FIELD_n_hidden] = I32(f->n_hidden);
        v[FIELD_hidden_widths] = int_array(g, f->hidden, f->n_hidden);
        v[FIELD_activation] = I32(f->activation);
        v[FIELD_n_derivs] = I32(n_derivs);
        v[FIELD_derivs] = derivs;
        v[FIELD_n_net_streams] = I32(n_net);
        v[FIELD_net_streams] = net_streams;
        v[FIELD_eval_f64] = eval;
        fields[i] = abi_struct(&ty, PHYSM_ABI_FIELD, v);
    }
    for (int i = 0; i < m->n_params; i++) {
        LLVMValueRef v[PARAM__COUNT] = {0};
        v[PARAM_name] = cstring(g, m->param_names[i]);
        v[PARAM_init] = F64(m->param_inits[i]);
        params[i] = abi_struct(&ty, PHYSM_ABI_PARAM, v);
    }
    for (int ti = 0; ti < m->n_terms; ti++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "term%d", ti);
        terms[ti] = gen_term(g, &ty, &m->terms[ti], prefix, 0);
    }
    for (int i = 0; i < m->n_stages; i++) {
        const lw_stage *s = &m->stages[i];
        LLVMValueRef sched[SCHED__COUNT] = {0};
        sched[SCHED_kind] = I32(s->schedule);
        sched[SCHED_lr] = F64(s->lr);
        sched[SCHED_decay_rate] = F64(s->decay_rate);
        sched[SCHED_decay_steps] = I64(s->decay_steps);
        sched[SCHED_lr_min] = F64(s->lr_min);
        sched[SCHED_total_steps] = I64(s->steps);
        LLVMValueRef adam[ADAM__COUNT] = {0};
        adam[ADAM_beta1] = F64(s->beta1);
        adam[ADAM_beta2] = F64(s->beta2);
        adam[ADAM_eps] = F64(s->eps);
        adam[ADAM_schedule] = abi_struct(&ty, PHYSM_ABI_SCHED, sched);
        LLVMValueRef lbfgs[LBFGS__COUNT] = {0};
        lbfgs[LBFGS_history] = I32(s->history);
        lbfgs[LBFGS_max_iterations] = I32(s->steps > 2147483647L ? 2147483647L : s->steps);
        lbfgs[LBFGS_max_evaluations] = I64(s->max_evaluations);
        lbfgs[LBFGS_grad_tol] = F64(s->grad_tol);
        lbfgs[LBFGS_rel_f_tol] = F64(s->rel_f_tol);
        lbfgs[LBFGS_c1] = F64(1e-4);
        lbfgs[LBFGS_c2] = F64(0.9);
        LLVMValueRef qn[QN__COUNT] = {0};
        qn[QN_method] = I32(s->qn_method);
        qn[QN_max_iterations] = I32(s->steps > 2147483647L ? 2147483647L : s->steps);
        qn[QN_max_evaluations] = I64(s->max_evaluations);
        qn[QN_grad_tol] = F64(s->grad_tol);
        qn[QN_rel_f_tol] = F64(s->rel_f_tol);
        qn[QN_c1] = F64(1e-4);
        qn[QN_c2] = F64(0.9);
        LLVMValueRef v[STAGE__COUNT] = {0};
        v[STAGE_optimizer] = I32(s->optimizer);
        v[STAGE_steps] = I64(s->steps);
        v[STAGE_adam] = abi_struct(&ty, PHYSM_ABI_ADAM, adam);
        v[STAGE_lbfgs] = abi_struct(&ty, PHYSM_ABI_LBFGS, lbfgs);
        v[STAGE_qn] = abi_struct(&ty, PHYSM_ABI_QN, qn);
        v[STAGE_lbfgs_above_dense_limit] = I32(s->lbfgs_above_dense_limit);
        v[STAGE_batch] = I64(s->batch);
        stages[i] = abi_struct(&ty, PHYSM_ABI_STAGE, v);
    }
    LLVMValueRef model[MODEL__COUNT] = {0};
    model[MODEL_abi_version] = I32(PHYSM_ABI_VERSION);
    model[MODEL_name] = cstring(g, m->name);
    model[MODEL_source_path] = cstring(g, m->source_path);
    model[MODEL_source_dir] = cstring(g, m->source_dir);
    model[MODEL_structure_hash] = I64(m->structure_hash);
    model[MODEL_n_fields] = I32(m->n_fields);
    model[MODEL_fields] = struct_array(g, ty.of[PHYSM_ABI_FIELD], fields, m->n_fields, "fields");
    model[MODEL_n_params] = I32(m->n_params);
    model[MODEL_params] = struct_array(g, ty.of[PHYSM_ABI_PARAM], params, m->n_params, "params");
    model[MODEL_n_terms] = I32(m->n_terms);
    model[MODEL_terms] = struct_array(g, ty.of[PHYSM_ABI_TERM], terms, m->n_terms, "terms");
    model[MODEL_n_stages] = I32(m->n_stages);
    model[MODEL_stages] = struct_array(g, ty.of[PHYSM_ABI_STAGE], stages, m->n_stages, "stages");
    model[MODEL_dynamics] = gen_dynamics(g, &ty);
    model[MODEL_n_simulations] = I32(m->n_simulations);
    model[MODEL_simulations] = gen_simulations(g, &ty);
    model[MODEL_system] = gen_system(g, &ty);
    model[MODEL_quantities] = gen_quantities(g, &ty);
    model[MODEL_spins] = gen_spins(g, &ty);
    LLVMValueRef model_global = global_const(g, abi_struct(&ty, PHYSM_ABI_MODEL, model), "physm_model_descriptor");
    free(fields);
    free(params);
    free(terms);
    free(stages);

    /* const physm_model *physm_model_get(void) */
    LLVMValueRef get = LLVMAddFunction(g->mod, get_symbol, LLVMFunctionType(P, NULL, 0, 0));
    LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->ctx, get, "entry"));
    LLVMBuildRet(g->b, model_global);

    if (!with_main) return;
    /* int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); } */
    LLVMValueRef main_fn = LLVMAddFunction(g->mod, "main", LLVMFunctionType(I, (LLVMTypeRef[]){I, P}, 2, 0));
    /* weak: a test harness linking the object may bring its own main */
    LLVMSetLinkage(main_fn, LLVMWeakAnyLinkage);
    LLVMValueRef physm_main = declare_fn(g, "physm_main", I, (LLVMTypeRef[]){P, I, P}, 3);
    LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->ctx, main_fn, "entry"));
    LLVMValueRef args[3] = {model_global, LLVMGetParam(main_fn, 0), LLVMGetParam(main_fn, 1)};
    LLVMBuildRet(g->b, LLVMBuildCall2(g->b, LLVMGlobalGetValueType(physm_main), physm_main, args, 3, ""));
}

static void gen_init(gen *g, LLVMContextRef ctx, const lw_model *m, const char *module_name)
{
    memset(g, 0, sizeof *g);
    g->ctx = ctx;
    g->m = m;
    g->dag = m->dag;
    g->mod = LLVMModuleCreateWithNameInContext(module_name, ctx);
    g->b = LLVMCreateBuilderInContext(ctx);
    g->i32 = LLVMInt32TypeInContext(ctx);
    g->i64 = LLVMInt64TypeInContext(ctx);
    g->f64 = LLVMDoubleTypeInContext(ctx);
    g->ptr = LLVMPointerTypeInContext(ctx, 0);
    g->real = g->f64;
}

LLVMModuleRef phys_codegen(LLVMContextRef ctx, const lw_model *m, const char *get_symbol, int with_main)
{
    gen g;
    gen_init(&g, ctx, m, m->name);
    LLVMSetSourceFileName(g.mod, m->source_path, strlen(m->source_path));
    gen_descriptor(&g, get_symbol, with_main);
    LLVMDisposeBuilder(g.b);
    return g.mod;
}

LLVMModuleRef phys_codegen_print(LLVMContextRef ctx, const lw_model *m, const lw_term *t, const char *prefix)
{
    gen g;
    char name[128];
    gen_init(&g, ctx, m, prefix);
    snprintf(name, sizeof name, "%s_inputs", prefix);
    LLVMSetLinkage(gen_inputs(&g, t, name), LLVMExternalLinkage);
    snprintf(name, sizeof name, "%s_residual", prefix);
    LLVMSetLinkage(gen_residual(&g, t, name), LLVMExternalLinkage);
    LLVMDisposeBuilder(g.b);
    return g.mod;
}
