/* physmodel_abi.h - the one description of the structs that generated code
 * builds as constant data: physmodel.h's descriptor structs and the physrt.h
 * option structs a physm_stage embeds.
 *
 * physmodel.h stays the documented contract, written in C. This file lists
 * each struct's members again, in declaration order, with how each is laid
 * out (PTR: any pointer, I32: int or an enum, I64: long, uint64_t, F64:
 * double, or the ID of an embedded struct). codegen builds its LLVM mirror of
 * every struct from these lists and places each initialiser by member name
 * (compiler/codegen.c); tests/compile/test_abi.c checks every LLVM offset and
 * size against offsetof and sizeof, and that the lists name every member of
 * the C structs in order. A member added to physmodel.h goes here too, or
 * test_abi fails.
 *
 * PHYSM_ABI_STRUCTS(S) calls S(ID, c_type) for each struct, embedded structs
 * before the structs that embed them; PHYSM_ABI_MEMBERS_<ID>(M, X) calls
 * M(X, member, kind) for each member (X is passed through for the caller). */
#ifndef PHYSMODEL_ABI_H
#define PHYSMODEL_ABI_H

#define PHYSM_ABI_STRUCTS(S)                 \
    S(FIELD, physm_field)                    \
    S(PARAM, physm_param)                    \
    S(PROBE, physm_probe)                    \
    S(FACE, physm_face)                      \
    S(TERM, physm_term)                      \
    S(SCHED, physrt_lr_schedule)             \
    S(ADAM, physrt_adam_options)             \
    S(LBFGS, physrt_lbfgs_options)           \
    S(QN, physrt_qn_options)                 \
    S(STAGE, physm_stage)                    \
    S(DYNAMICS, physm_dynamics)              \
    S(SIMULATION, physm_simulation)          \
    S(ATTRIBUTE, physm_attribute)            \
    S(PARTICLE_SET, physm_particle_set)      \
    S(KERNEL, physm_kernel)                  \
    S(ATOMIC, physm_atomic)                  \
    S(SYSTEM, physm_system)                  \
    S(QUANTITIES, physm_quantities)          \
    S(RECALL, physm_recall)                  \
    S(SPINS, physm_spins)                    \
    S(MODEL, physm_model)

#define PHYSM_ABI_MEMBERS_FIELD(M, X) \
    M(X, name, PTR)                   \
    M(X, n_inputs, I32)               \
    M(X, input_names, PTR)            \
    M(X, n_outputs, I32)              \
    M(X, n_hidden, I32)               \
    M(X, hidden_widths, PTR)          \
    M(X, activation, I32)             \
    M(X, n_derivs, I32)               \
    M(X, derivs, PTR)                 \
    M(X, n_net_streams, I32)          \
    M(X, net_streams, PTR)            \
    M(X, eval_f64, PTR)

#define PHYSM_ABI_MEMBERS_PARAM(M, X) \
    M(X, name, PTR)                   \
    M(X, init, F64)

#define PHYSM_ABI_MEMBERS_PROBE(M, X) \
    M(X, field, I32)                  \
    M(X, n_streams, I32)              \
    M(X, streams, PTR)

#define PHYSM_ABI_MEMBERS_FACE(M, X) \
    M(X, n_fixed, I32)               \
    M(X, coords, PTR)                \
    M(X, values, PTR)

#define PHYSM_ABI_MEMBERS_TERM(M, X) \
    M(X, name, PTR)                  \
    M(X, kind, I32)                  \
    M(X, weight, F64)                \
    M(X, n_coords, I32)              \
    M(X, coord_names, PTR)           \
    M(X, lo, PTR)                    \
    M(X, hi, PTR)                    \
    M(X, n_faces, I32)               \
    M(X, faces, PTR)                 \
    M(X, n_points, I32)              \
    M(X, sampler, I32)               \
    M(X, weight_rule, I32)           \
    M(X, weight_every, I64)          \
    M(X, weight_alpha, F64)          \
    M(X, adapt, I32)                 \
    M(X, adapt_every, I64)           \
    M(X, adapt_fraction, F64)        \
    M(X, adapt_k, F64)               \
    M(X, adapt_c, F64)               \
    M(X, adapt_pool, I32)            \
    M(X, data_file, PTR)             \
    M(X, columns, PTR)               \
    M(X, pair_rows, I32)             \
    M(X, time_column, I32)           \
    M(X, frames, I32)                \
    M(X, n_probes, I32)              \
    M(X, probes, PTR)                \
    M(X, n_residuals, I32)           \
    M(X, inputs_f64, PTR)            \
    M(X, inputs_f32, PTR)            \
    M(X, residual_f64, PTR)          \
    M(X, residual_f32, PTR)          \
    M(X, residual_vjp_f64, PTR)      \
    M(X, residual_vjp_f32, PTR)

#define PHYSM_ABI_MEMBERS_SCHED(M, X) \
    M(X, kind, I32)                   \
    M(X, lr, F64)                     \
    M(X, decay_rate, F64)             \
    M(X, decay_steps, I64)            \
    M(X, lr_min, F64)                 \
    M(X, total_steps, I64)

#define PHYSM_ABI_MEMBERS_ADAM(M, X) \
    M(X, beta1, F64)                 \
    M(X, beta2, F64)                 \
    M(X, eps, F64)                   \
    M(X, schedule, SCHED)

#define PHYSM_ABI_MEMBERS_LBFGS(M, X) \
    M(X, history, I32)                \
    M(X, max_iterations, I32)         \
    M(X, max_evaluations, I64)        \
    M(X, grad_tol, F64)               \
    M(X, rel_f_tol, F64)              \
    M(X, c1, F64)                     \
    M(X, c2, F64)

#define PHYSM_ABI_MEMBERS_QN(M, X) \
    M(X, method, I32)              \
    M(X, max_iterations, I32)      \
    M(X, max_evaluations, I64)     \
    M(X, grad_tol, F64)            \
    M(X, rel_f_tol, F64)           \
    M(X, c1, F64)                  \
    M(X, c2, F64)

#define PHYSM_ABI_MEMBERS_STAGE(M, X) \
    M(X, optimizer, I32)              \
    M(X, steps, I64)                  \
    M(X, adam, ADAM)                  \
    M(X, lbfgs, LBFGS)                \
    M(X, qn, QN)                      \
    M(X, lbfgs_above_dense_limit, I32) \
    M(X, batch, I64)

#define PHYSM_ABI_MEMBERS_DYNAMICS(M, X) \
    M(X, kind, I32)                      \
    M(X, n_state, I32)                   \
    M(X, n_aux, I32)                     \
    M(X, names, PTR)                     \
    M(X, n_half, I32)                    \
    M(X, separable, I32)                 \
    M(X, dim, I32)                       \
    M(X, rhs, PTR)                       \
    M(X, energy, PTR)                    \
    M(X, momentum, PTR)                  \
    M(X, conserve_energy, I32)           \
    M(X, conserve_momentum, I32)

#define PHYSM_ABI_MEMBERS_SIMULATION(M, X) \
    M(X, name, PTR)                        \
    M(X, integrator, I32)                  \
    M(X, dt, F64)                          \
    M(X, steps, I64)                       \
    M(X, every, I64)                       \
    M(X, tolerance, F64)                   \
    M(X, start, PTR)                       \
    M(X, start_file, PTR)                  \
    M(X, out_file, PTR)                    \
    M(X, kT, F64)                          \
    M(X, damping, F64)                     \
    M(X, seed, I64)

#define PHYSM_ABI_MEMBERS_ATTRIBUTE(M, X) \
    M(X, name, PTR)                       \
    M(X, width, I32)                      \
    M(X, role, I32)                       \
    M(X, array, I32)

#define PHYSM_ABI_MEMBERS_PARTICLE_SET(M, X) \
    M(X, name, PTR)                          \
    M(X, count, I64)                         \
    M(X, n_attributes, I32)                  \
    M(X, attributes, PTR)                    \
    M(X, moves, I32)

#define PHYSM_ABI_MEMBERS_KERNEL(M, X) \
    M(X, name, PTR)                    \
    M(X, kind, I32)                    \
    M(X, set_first, I32)               \
    M(X, set_second, I32)              \
    M(X, cutoff, F64)                  \
    M(X, sum_index, I32)               \
    M(X, n_probes, I32)                \
    M(X, probes, PTR)                  \
    M(X, inputs_f64, PTR)              \
    M(X, sum_f64, PTR)                 \
    M(X, body_f64, PTR)                \
    M(X, n_features, I32)              \
    M(X, feature_offset, I32)          \
    M(X, values_f64, PTR)              \
    M(X, tangent_f64, PTR)             \
    M(X, hvp_f64, PTR)                 \
    M(X, virial_f64, PTR)              \
    M(X, n_jacobian, I32)              \
    M(X, jacobian_f64, PTR)

#define PHYSM_ABI_MEMBERS_ATOMIC(M, X) \
    M(X, field, I32)                   \
    M(X, set, I32)                     \
    M(X, n_features, I32)              \
    M(X, sum_index, I32)               \
    M(X, seed_array, I32)              \
    M(X, tangent_array, I32)           \
    M(X, n_elements, I32)              \
    M(X, fields, PTR)                  \
    M(X, elements, PTR)                \
    M(X, species_array, I32)

#define PHYSM_ABI_MEMBERS_SYSTEM(M, X) \
    M(X, dim, I32)                     \
    M(X, n_sets, I32)                  \
    M(X, sets, PTR)                    \
    M(X, n_arrays, I32)                \
    M(X, n_kernels, I32)               \
    M(X, kernels, PTR)                 \
    M(X, n_sums, I32)                  \
    M(X, combine, PTR)                 \
    M(X, seeds_needed, I32)            \
    M(X, mass, F64)                    \
    M(X, atomic, PTR)                  \
    M(X, hvp_tangent_array, I32)       \
    M(X, hvp_seed_array, I32)

#define PHYSM_ABI_MEMBERS_QUANTITIES(M, X) \
    M(X, n_lets, I32)                      \
    M(X, lets, PTR)

#define PHYSM_ABI_MEMBERS_RECALL(M, X) \
    M(X, file, PTR)                    \
    M(X, temperature, F64)             \
    M(X, sweeps, I64)                  \
    M(X, out_file, PTR)

#define PHYSM_ABI_MEMBERS_SPINS(M, X) \
    M(X, name, PTR)                   \
    M(X, energy, PTR)                 \
    M(X, n, I64)                      \
    M(X, coupling, I32)               \
    M(X, coupling_name, PTR)          \
    M(X, coupling_file, PTR)          \
    M(X, lattice_dims, I32)           \
    M(X, lattice, PTR)                \
    M(X, pair_scale, F64)             \
    M(X, bias, I32)                   \
    M(X, bias_name, PTR)              \
    M(X, bias_file, PTR)              \
    M(X, bias_scale, F64)             \
    M(X, uniform_field, F64)          \
    M(X, n_recalls, I32)              \
    M(X, recalls, PTR)

#define PHYSM_ABI_MEMBERS_MODEL(M, X) \
    M(X, abi_version, I32)            \
    M(X, name, PTR)                   \
    M(X, source_path, PTR)            \
    M(X, source_dir, PTR)             \
    M(X, structure_hash, I64)         \
    M(X, n_fields, I32)               \
    M(X, fields, PTR)                 \
    M(X, n_params, I32)               \
    M(X, params, PTR)                 \
    M(X, n_terms, I32)                \
    M(X, terms, PTR)                  \
    M(X, n_stages, I32)               \
    M(X, stages, PTR)                 \
    M(X, dynamics, PTR)               \
    M(X, n_simulations, I32)          \
    M(X, simulations, PTR)            \
    M(X, system, PTR)                 \
    M(X, quantities, PTR)             \
    M(X, spins, PTR)

/* The layouts a member can have: the scalars, then every struct by ID
 * (PHYSM_ABI_STRUCT_TERM, ...). */
#define PHYSM_ABI_STRUCT_ID(ID, c_type) PHYSM_ABI_##ID,
typedef enum {
    PHYSM_ABI_PTR, PHYSM_ABI_I32, PHYSM_ABI_I64, PHYSM_ABI_F64,
    PHYSM_ABI_STRUCTS(PHYSM_ABI_STRUCT_ID)
    PHYSM_ABI_N_LAYOUTS
} physm_abi_layout;
#undef PHYSM_ABI_STRUCT_ID

/* The enum of each struct's members: TERM_weight is physm_term.weight's
 * index, TERM__COUNT the number of members. */
#define PHYSM_ABI_MEMBER_ID(ID, member, kind) ID##_##member,
#define PHYSM_ABI_MEMBER_ENUM(ID, c_type) enum { PHYSM_ABI_MEMBERS_##ID(PHYSM_ABI_MEMBER_ID, ID) ID##__COUNT };
PHYSM_ABI_STRUCTS(PHYSM_ABI_MEMBER_ENUM)
#undef PHYSM_ABI_MEMBER_ENUM
#undef PHYSM_ABI_MEMBER_ID

#endif /* PHYSMODEL_ABI_H */
