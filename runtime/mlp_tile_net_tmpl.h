/* mlp_tile_net_tmpl.h - creation and destruction of tile nets, written
 * once for both precisions (REAL, SFX, NET defined by mlp_tile.c). */

void SFX(mlp_tile_net_destroy)(NET *net)
{
    if (!net) return;
    free(net->off_z);
    free(net->off_a);
    free(net->off_d);
    free(net->rev_begin);
    free(net->rev);
    physrt_jet_plan_destroy(net->plan);
    mlp_geometry_free(&net->geo);
    free(net);
}

NET *SFX(mlp_tile_net_create)(const physrt_mlp_desc *desc, const physrt_jet_plan *plan)
{
    if (!plan || physrt_mlp_validate(desc) != PHYSRT_OK || plan->n_inputs != desc->n_inputs)
        return NULL;
    NET *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    if (mlp_geometry_init(&net->geo, desc) != PHYSRT_OK) {
        free(net);
        return NULL;
    }
    net->plan = physrt_jet_plan_clone(plan);
    net->n_streams = plan->n_streams;
    net->n_orders = plan->max_order + 1;
    size_t offs[5];
    if (!net->plan || rev_entries(net->plan, &net->rev_begin, &net->rev) != 0 ||
        tile_layout(&net->geo, net->n_streams, net->n_orders, &net->off_z,
                                  &net->off_a, &net->off_d, offs, &net->ws_reals) != 0) {
        SFX(mlp_tile_net_destroy)(net);
        return NULL;
    }
    net->off_xt = offs[0];
    net->off_coef = offs[1];
    net->off_abar = offs[2];
    net->off_prev = offs[3];
    net->off_zbar = offs[4];
    return net;
}

REAL *SFX(mlp_tile_ws_alloc)(const NET *net)
{
    const size_t bytes = (net->ws_reals * sizeof(REAL) + 63) / 64 * 64;
    REAL *ws = aligned_alloc(64, bytes);
    if (ws) memset(ws, 0, bytes);
    return ws;
}
