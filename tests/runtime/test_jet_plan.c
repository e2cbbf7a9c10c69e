/* Jet plans: closure, ordering, lookup and the Faa di Bruno expansions. */
#include "check.h"
#include "physrt.h"

/* Sum of coeff over terms with k blocks, for stream s. */
static int coeff_with_k(const physrt_jet_plan *p, int s, int k)
{
    int total = 0;
    for (int t = 0; t < physrt_jet_plan_n_terms(p, s); t++) {
        int c, kk, blocks[PHYSRT_MAX_ORDER];
        physrt_jet_plan_term(p, s, t, &c, &kk, blocks);
        if (kk == k) total += c;
    }
    return total;
}

static int stirling2(int n, int k)
{
    if (n == 0 && k == 0) return 1;
    if (n == 0 || k == 0) return 0;
    return k * stirling2(n - 1, k) + stirling2(n - 1, k - 1);
}

int main(void)
{
    /* Burgers: u, u_t, u_x, u_xx over inputs (x, t) */
    const int req[] = {0, 0, 0, 1, 1, 0, 2, 0};
    physrt_jet_plan *p = physrt_jet_plan_create(2, 4, req);
    CHECK(p != NULL, "create");
    CHECK(physrt_jet_plan_n_streams(p) == 4, "closure of {u,u_t,u_x,u_xx} has 4 streams, got %d",
          physrt_jet_plan_n_streams(p));
    CHECK(physrt_jet_plan_max_order(p) == 2, "max order");
    CHECK(physrt_jet_plan_index(p, (int[]){0, 0}) == 0, "value first");
    CHECK(physrt_jet_plan_index(p, (int[]){1, 0}) == 1, "u_x second");
    CHECK(physrt_jet_plan_index(p, (int[]){0, 1}) == 2, "u_t third");
    CHECK(physrt_jet_plan_index(p, (int[]){2, 0}) == 3, "u_xx fourth");
    CHECK(physrt_jet_plan_index(p, (int[]){1, 1}) == -1, "u_xt not computed");
    /* u_xx = s'' z_x^2 + s' z_xx */
    int sxx = 3, c, k, blocks[4];
    CHECK(physrt_jet_plan_n_terms(p, sxx) == 2, "u_xx terms");
    physrt_jet_plan_term(p, sxx, 0, &c, &k, blocks);
    CHECK(c == 1 && k == 1 && blocks[0] == 3, "u_xx term 0: %d %d %d", c, k, blocks[0]);
    physrt_jet_plan_term(p, sxx, 1, &c, &k, blocks);
    CHECK(c == 1 && k == 2 && blocks[0] == 1 && blocks[1] == 1, "u_xx term 1");
    physrt_jet_plan_destroy(p);

    /* closure adds every componentwise-smaller index; u_xxt needs u_xt, u_xx, ... */
    p = physrt_jet_plan_create(2, 1, (int[]){2, 1});
    CHECK(physrt_jet_plan_n_streams(p) == 6, "closure of u_xxt: %d", physrt_jet_plan_n_streams(p));
    CHECK(physrt_jet_plan_is_requested(p, physrt_jet_plan_index(p, (int[]){2, 1})), "requested");
    CHECK(!physrt_jet_plan_is_requested(p, physrt_jet_plan_index(p, (int[]){1, 1})), "closure");
    /* d^3 s(z) / dx dx dt: Bell(3) = 5 partitions, k-counts are Stirling numbers */
    int s21 = physrt_jet_plan_index(p, (int[]){2, 1});
    for (int kk = 1; kk <= 3; kk++)
        CHECK(coeff_with_k(p, s21, kk) == stirling2(3, kk), "S(3,%d)", kk);
    physrt_jet_plan_destroy(p);

    /* fourth order in one variable: s' z4 + 4 s'' z1 z3 + 3 s'' z2^2 + 6 s''' z1^2 z2 + s'''' z1^4 */
    p = physrt_jet_plan_create(1, 1, (int[]){4});
    CHECK(physrt_jet_plan_n_terms(p, 4) == 5, "u_xxxx terms");
    for (int t = 0; t < 5; t++) {
        physrt_jet_plan_term(p, 4, t, &c, &k, blocks);
        int want = -1;
        if (k == 1) want = 1;
        else if (k == 2 && blocks[0] == 1) want = 4;
        else if (k == 2 && blocks[0] == 2) want = 3;
        else if (k == 3) want = 6;
        else if (k == 4) want = 1;
        CHECK(c == want, "u_xxxx term k=%d block0=%d coeff %d want %d", k, blocks[0], c, want);
    }
    physrt_jet_plan_destroy(p);

    /* mixed fourth order over 4 distinct inputs: all 15 partitions distinct */
    p = physrt_jet_plan_create(4, 1, (int[]){1, 1, 1, 1});
    CHECK(physrt_jet_plan_n_streams(p) == 16, "2^4 sub-indices");
    int s1111 = physrt_jet_plan_index(p, (int[]){1, 1, 1, 1});
    CHECK(physrt_jet_plan_n_terms(p, s1111) == 15, "Bell(4) terms");
    for (int kk = 1; kk <= 4; kk++)
        CHECK(coeff_with_k(p, s1111, kk) == stirling2(4, kk), "S(4,%d)", kk);
    physrt_jet_plan_destroy(p);

    /* gradient / Hessian plans */
    p = physrt_jet_plan_create_hessian(3);
    CHECK(physrt_jet_plan_n_streams(p) == 1 + 3 + 6, "hessian plan streams %d",
          physrt_jet_plan_n_streams(p));
    physrt_jet_plan *q = physrt_jet_plan_clone(p);
    CHECK(q && physrt_jet_plan_index(q, (int[]){0, 1, 1}) == physrt_jet_plan_index(p, (int[]){0, 1, 1}),
          "clone");
    physrt_jet_plan_destroy(q);
    physrt_jet_plan_destroy(p);
    p = physrt_jet_plan_create_gradient(8);
    CHECK(physrt_jet_plan_n_streams(p) == 9, "gradient plan");
    physrt_jet_plan_destroy(p);

    /* invalid requests */
    CHECK(physrt_jet_plan_create(2, 1, (int[]){3, 2}) == NULL, "order 5 rejected");
    CHECK(physrt_jet_plan_create(9, 0, NULL) == NULL, "9 inputs rejected");
    CHECK(physrt_jet_plan_create(2, 1, (int[]){-1, 0}) == NULL, "negative rejected");
    /* all streams of order <= 4 over 8 inputs: C(12,4) = 495 */
    int all[8 * 8];
    int n_req = 0;
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 8; j++) all[n_req * 8 + j] = 0;
        all[n_req * 8 + i] = 4;
        n_req++;
    }
    p = physrt_jet_plan_create(8, n_req, all);
    CHECK(p && physrt_jet_plan_n_streams(p) == 1 + 8 * 4, "pure powers closure %d",
          p ? physrt_jet_plan_n_streams(p) : -1);
    physrt_jet_plan_destroy(p);
    return check_summary("runtime_jet_plan");
}
