/* pool.c - a small pthread pool running parallel-for loops over tasks.
 * The caller participates as thread 0; tasks are claimed from an atomic
 * counter. Results that must be deterministic are keyed by task index, never
 * by the thread that happened to run the task. */
#include "physrt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct physrt_pool {
    int n_threads;
    pthread_t *workers;
    pthread_mutex_t run_lock;     /* serialises physrt_pool_run callers */
    pthread_mutex_t lock;
    pthread_cond_t wake;          /* new job or shutdown */
    pthread_cond_t done;          /* all workers finished the job */
    unsigned long generation;     /* bumped for every job */
    int shutdown;
    int busy_workers;
    /* current job */
    physrt_task_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next_task;
};

static void run_tasks(physrt_pool *pool)
{
    for (;;) {
        int t = atomic_fetch_add(&pool->next_task, 1);
        if (t >= pool->n_tasks) break;
        pool->fn(pool->ctx, t, pool->n_tasks);
    }
}

static void *worker_main(void *arg)
{
    physrt_pool *pool = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->shutdown && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->shutdown) break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        run_tasks(pool);
        pthread_mutex_lock(&pool->lock);
        if (--pool->busy_workers == 0) pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

physrt_pool *physrt_pool_create(int n_threads)
{
    if (n_threads < 1) return NULL;
    physrt_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads;
    pool->workers = calloc((size_t)n_threads, sizeof *pool->workers);
    if (!pool->workers) { free(pool); return NULL; }
    pthread_mutex_init(&pool->run_lock, NULL);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->next_task, 0);
    for (int t = 1; t < n_threads; t++) {
        if (pthread_create(&pool->workers[t], NULL, worker_main, pool) != 0) {
            pool->n_threads = t;      /* destroy joins the ones that started */
            physrt_pool_destroy(pool);
            return NULL;
        }
    }
    return pool;
}

void physrt_pool_destroy(physrt_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    pool->shutdown = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int t = 1; t < pool->n_threads; t++) pthread_join(pool->workers[t], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->run_lock);
    free(pool->workers);
    free(pool);
}

int physrt_pool_n_threads(const physrt_pool *pool)
{
    return pool ? pool->n_threads : 1;
}

void physrt_pool_run(physrt_pool *pool, int n_tasks, physrt_task_fn fn, void *ctx)
{
    if (n_tasks <= 0 || !fn) return;
    if (!pool || pool->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, n_tasks);
        return;
    }
    pthread_mutex_lock(&pool->run_lock);
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_tasks = n_tasks;
    atomic_store(&pool->next_task, 0);
    pool->busy_workers = pool->n_threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    run_tasks(pool);

    pthread_mutex_lock(&pool->lock);
    while (pool->busy_workers > 0) pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->run_lock);
}
