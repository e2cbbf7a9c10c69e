/* mpi.c - data-parallel training over MPI, with Open MPI loaded at run time.
 *
 * A program started by Open MPI's mpirun has OMPI_COMM_WORLD_SIZE in its
 * environment; only then is libmpi.so.40 (or $PHYSC_LIBMPI) opened
 * (dlopen) and the few functions training needs resolved. A program not
 * under mpirun never touches MPI, so a single-process model needs no MPI
 * installed. The handles MPI_COMM_WORLD, MPI_DOUBLE and MPI_INT are, in
 * Open MPI's ABI, the addresses of the globals ompi_mpi_comm_world,
 * ompi_mpi_double and ompi_mpi_int, looked up the same way.
 *
 * Only the thread that started MPI calls it (MPI_THREAD_FUNNELED); the
 * training pool's threads never do. The sum over ranks (physm_mpi_sum) is a
 * reduce-scatter in a fixed order: every rank owns a contiguous slice of the
 * vector, receives every rank's part of that slice (Alltoallv), adds them in
 * rank order and hands the sums to everyone (Allgatherv). Each number is
 * added by one rank in one order, so every rank holds the same bits, and
 * each rank moves about twice the vector whatever the number of ranks. */
#define _GNU_SOURCE
#include "model_internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MPI_THREAD_FUNNELED_ = 1 };   /* Open MPI's enum value */

typedef int (*mpi_init_thread_fn)(int *, char ***, int, int *);
typedef int (*mpi_comm_int_fn)(void *, int *);
typedef int (*mpi_alltoallv_fn)(const void *, const int *, const int *, void *, void *, const int *,
                                const int *, void *, void *);
typedef int (*mpi_allgatherv_fn)(const void *, int, void *, void *, const int *, const int *, void *, void *);
typedef int (*mpi_allgather_fn)(const void *, int, void *, void *, int, void *, void *);
typedef int (*mpi_bcast_fn)(void *, int, void *, int, void *);
typedef int (*mpi_finalize_fn)(void);
typedef int (*mpi_abort_fn)(void *, int);

struct physm_mpi {
    const char *prog;
    void *lib;
    int rank, size;
    void *world, *mpi_double, *mpi_int;
    mpi_init_thread_fn init_thread;
    mpi_comm_int_fn comm_rank, comm_size;
    mpi_alltoallv_fn alltoallv;
    mpi_allgatherv_fn allgatherv;
    mpi_allgather_fn allgather;
    mpi_bcast_fn bcast;
    mpi_finalize_fn finalize;
    mpi_abort_fn abort;
    int *send_count, *send_at, *recv_count, *recv_at;   /* size entries each */
    int *flags;                   /* size entries: physm_mpi_first */
    double *scratch;              /* the received parts of this rank's slice */
    size_t scratch_cap;
};

/* The slice of n numbers rank r owns: [n r / size, n (r + 1) / size). */
static size_t slice_start(size_t n, int r, int size)
{
    return (size_t)((unsigned long long)n * (unsigned)r / (unsigned)size);
}

static void fail(physm_mpi *mpi, const char *what, int rc)
{
    fprintf(stderr, "%s: error: MPI: %s failed (code %d) on rank %d\n", mpi->prog, what, rc, mpi->rank);
    if (mpi->abort) mpi->abort(mpi->world, PHYSM_EXIT_RUNTIME);
    _exit(PHYSM_EXIT_RUNTIME);
}

int physm_mpi_launched(void)
{
    const char *world_size = getenv("OMPI_COMM_WORLD_SIZE");
    long k = world_size ? strtol(world_size, NULL, 10) : 1;
    return k > 1 && k < 1 << 24 ? (int)k : 1;
}

int physm_mpi_start(const char *prog, physm_mpi **out)
{
    *out = NULL;
    const char *world_size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!world_size) return 0;
    physm_mpi *mpi = calloc(1, sizeof *mpi);
    if (!mpi) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return -1;
    }
    mpi->prog = prog;
    const char *lib = getenv("PHYSC_LIBMPI");
    if (!lib || !lib[0]) lib = "libmpi.so.40";
    mpi->lib = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (!mpi->lib) {
        fprintf(stderr, "%s: error: started by mpirun (OMPI_COMM_WORLD_SIZE=%s), but Open MPI's library cannot "
                "be loaded: %s\n  (Debian: apt-get install openmpi-bin libopenmpi-dev; PHYSC_LIBMPI names "
                "another libmpi; without mpirun the program runs as one process and needs no MPI)\n", prog,
                world_size, dlerror());
        free(mpi);
        return -1;
    }
    const struct {
        const char *name;
        void *slot;
    } syms[] = {
        {"MPI_Init_thread", &mpi->init_thread}, {"MPI_Comm_rank", &mpi->comm_rank},
        {"MPI_Comm_size", &mpi->comm_size},     {"MPI_Alltoallv", &mpi->alltoallv},
        {"MPI_Allgatherv", &mpi->allgatherv},   {"MPI_Allgather", &mpi->allgather},
        {"MPI_Bcast", &mpi->bcast},             {"MPI_Finalize", &mpi->finalize},
        {"MPI_Abort", &mpi->abort},             {"ompi_mpi_comm_world", &mpi->world},
        {"ompi_mpi_double", &mpi->mpi_double},  {"ompi_mpi_int", &mpi->mpi_int},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *p = dlsym(mpi->lib, syms[i].name);
        if (!p) {
            fprintf(stderr, "%s: error: %s has no %s: not Open MPI 4 or 5?\n", prog, lib, syms[i].name);
            free(mpi);
            return -1;
        }
        memcpy(syms[i].slot, &p, sizeof p);   /* object to function pointer, as POSIX allows */
    }
    /* A rank waiting for the others yields its core instead of spinning (unless
     * the user says otherwise): on a shared machine a spinning rank takes the
     * CPU the others need, and a training step is long beside the latency. */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    /* MPI's own threads start with SIGINT and SIGTERM blocked, so those
     * signals (mpirun passes SIGTERM on) reach the thread that trains, which
     * saves at a step boundary (train.c) */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    int provided = 0, rc = mpi->init_thread(NULL, NULL, MPI_THREAD_FUNNELED_, &provided);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        fprintf(stderr, "%s: error: MPI_Init_thread failed (code %d)\n", prog, rc);
        free(mpi);
        return -1;
    }
    if ((rc = mpi->comm_rank(mpi->world, &mpi->rank)) || (rc = mpi->comm_size(mpi->world, &mpi->size)))
        fail(mpi, "MPI_Comm_rank/size", rc);
    const size_t k = (size_t)mpi->size;
    mpi->send_count = calloc(k, sizeof(int));
    mpi->send_at = calloc(k, sizeof(int));
    mpi->recv_count = calloc(k, sizeof(int));
    mpi->recv_at = calloc(k, sizeof(int));
    mpi->flags = calloc(k, sizeof(int));
    if (!mpi->send_count || !mpi->send_at || !mpi->recv_count || !mpi->recv_at || !mpi->flags) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        fail(mpi, "setup", 0);
    }
    *out = mpi;
    return 0;
}

static void release(physm_mpi *mpi)
{
    free(mpi->send_count);
    free(mpi->send_at);
    free(mpi->recv_count);
    free(mpi->recv_at);
    free(mpi->flags);
    free(mpi->scratch);
    free(mpi);   /* libmpi stays loaded: unloading it after MPI_Finalize is not safe */
}

void physm_mpi_finish(physm_mpi *mpi)
{
    if (!mpi) return;
    mpi->finalize();
    release(mpi);
}

void physm_mpi_abort(physm_mpi *mpi, int status)
{
    if (!mpi) return;
    fflush(NULL);
    mpi->abort(mpi->world, status);
    _exit(status);
}

int physm_mpi_rank(const physm_mpi *mpi) { return mpi ? mpi->rank : 0; }
int physm_mpi_size(const physm_mpi *mpi) { return mpi ? mpi->size : 1; }

void physm_mpi_sum(physm_mpi *mpi, double *v, size_t n)
{
    if (!mpi || n == 0) return;
    const int size = mpi->size, me = mpi->rank;
    if (n > 0x7fffffff) fail(mpi, "a sum of more than 2^31 numbers", 0);
    const size_t my_at = slice_start(n, me, size), my_n = slice_start(n, me + 1, size) - my_at;
    if ((size_t)size * my_n > mpi->scratch_cap) {   /* the first evaluation sizes it */
        free(mpi->scratch);
        mpi->scratch_cap = (size_t)size * my_n;
        mpi->scratch = malloc(mpi->scratch_cap * sizeof(double));
        if (!mpi->scratch) fail(mpi, "memory for the sum", 0);
    }
    for (int r = 0; r < size; r++) {
        const size_t at = slice_start(n, r, size);
        mpi->send_at[r] = (int)at;
        mpi->send_count[r] = (int)(slice_start(n, r + 1, size) - at);
        mpi->recv_at[r] = (int)((size_t)r * my_n);
        mpi->recv_count[r] = (int)my_n;
    }
    int rc = mpi->alltoallv(v, mpi->send_count, mpi->send_at, mpi->mpi_double, mpi->scratch, mpi->recv_count,
                            mpi->recv_at, mpi->mpi_double, mpi->world);
    if (rc) fail(mpi, "MPI_Alltoallv", rc);
    /* rank order: ((part 0 + part 1) + part 2) + ... */
    double *mine = mpi->scratch;
    for (int r = 1; r < size; r++) {
        const double *part = mpi->scratch + (size_t)r * my_n;
        for (size_t i = 0; i < my_n; i++) mine[i] += part[i];
    }
    rc = mpi->allgatherv(mine, (int)my_n, mpi->mpi_double, v, mpi->send_count, mpi->send_at, mpi->mpi_double,
                         mpi->world);
    if (rc) fail(mpi, "MPI_Allgatherv", rc);
}

void physm_mpi_bcast(physm_mpi *mpi, double *v, size_t n)
{
    if (!mpi || n == 0) return;
    if (n > 0x7fffffff) fail(mpi, "a broadcast of more than 2^31 numbers", 0);
    int rc = mpi->bcast(v, (int)n, mpi->mpi_double, 0, mpi->world);
    if (rc) fail(mpi, "MPI_Bcast", rc);
}

int physm_mpi_bcast_int(physm_mpi *mpi, int value)
{
    if (!mpi) return value;
    int rc = mpi->bcast(&value, 1, mpi->mpi_int, 0, mpi->world);
    if (rc) fail(mpi, "MPI_Bcast", rc);
    return value;
}

int physm_mpi_first(physm_mpi *mpi, int value)
{
    if (!mpi) return value;
    int rc = mpi->allgather(&value, 1, mpi->mpi_int, mpi->flags, 1, mpi->mpi_int, mpi->world);
    if (rc) fail(mpi, "MPI_Allgather", rc);
    for (int r = 0; r < mpi->size; r++)
        if (mpi->flags[r]) return mpi->flags[r];
    return 0;
}

int physm_mpi_threads(const physm_mpi *mpi, int all)
{
    if (!mpi) return all;
    cpu_set_t set;
    int mine = all;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) mine = CPU_COUNT(&set);
    if (mine < all) return mine;   /* mpirun bound this rank to its own cores */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    long k = local ? strtol(local, NULL, 10) : 1;
    int share = k > 1 ? (int)(all / k) : all;
    return share >= 1 ? share : 1;
}
