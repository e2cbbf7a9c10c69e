/* Thread pool: every task runs exactly once per call, repeated calls,
 * NULL pool runs serially, and pools of different sizes. */
#include "check.h"
#include "physrt.h"

#include <stdatomic.h>
#include <string.h>

typedef struct {
    atomic_int runs[1000];
    atomic_int total;
} job;

static void task(void *ctx, int t, int n_tasks)
{
    job *j = ctx;
    (void)n_tasks;
    atomic_fetch_add(&j->runs[t], 1);
    atomic_fetch_add(&j->total, t);
}

int main(void)
{
    for (int threads = 1; threads <= 4; threads++) {
        physrt_pool *pool = physrt_pool_create(threads);
        CHECK(pool && physrt_pool_n_threads(pool) == threads, "create %d", threads);
        for (int rep = 0; rep < 200; rep++) {
            static job j;
            int n = 1 + (rep * 37) % 1000;
            for (int t = 0; t < 1000; t++) atomic_store(&j.runs[t], 0);
            atomic_store(&j.total, 0);
            physrt_pool_run(pool, n, task, &j);
            int ok = 1;
            for (int t = 0; t < n; t++) ok &= atomic_load(&j.runs[t]) == 1;
            for (int t = n; t < 1000; t++) ok &= atomic_load(&j.runs[t]) == 0;
            CHECK(ok && atomic_load(&j.total) == n * (n - 1) / 2, "threads %d rep %d", threads, rep);
        }
        physrt_pool_destroy(pool);
    }
    static job j;
    physrt_pool_run(NULL, 5, task, &j);
    CHECK(atomic_load(&j.total) == 10, "NULL pool runs serially");
    CHECK(physrt_pool_create(0) == NULL, "zero threads rejected");
    return check_summary("runtime_pool");
}
