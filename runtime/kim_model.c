/* kim_model.c - a compiled physc particle model as a KIM API 2 portable
 * model (C binding), which LAMMPS runs with 'kim init NAME metal' or
 * 'pair_style kim NAME'. physc --kim writes the directory KIM's
 * collections-management builds: the model's object file (the descriptor
 * and, from physc, physm_export_species and the embedded checkpoint), this
 * file's library (libphysrt_kim.a, built only where libkim-api-dev is) and
 * libphysrt.a.
 *
 * The simulator gives contributing particles and ghosts, and a full
 * neighbour list (cutoff: the largest of the kernels') of every
 * contributing particle; local_eval.c does the rest. Units are the model's,
 * taken as eV and Angstrom (LAMMPS 'metal'; 'kim init NAME real
 * unit_conversion_mode' converts for other unit styles). Supported arguments: partialEnergy, partialForces,
 * partialParticleEnergy, partialVirial. One thread per process: a
 * simulator runs one process per core. No parameters are published, so
 * there is no Refresh routine (the API refuses one without them). */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "KIM_LogMacros.h"
#include "KIM_ModelHeaders.h"
#include "local_eval.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined by the object physc --kim writes. */
extern const char physm_export_species[];
extern const unsigned char physm_export_checkpoint[];
extern const uint64_t physm_export_checkpoint_size;

enum { KIM_MAX_SPECIES = 64 };

typedef struct {
    physm_layout lay;
    double *theta;
    physm_local_eval *ev;
    double influence, cutoff;
    int will_not_request_ghost_neighbors;
    int warned_extrapolation;
    long *start;                  /* CSR copy of KIM's lists */
    int *nbr;
    long cap_start, cap_nbr;
} kim_buffer;

int physm_kim_model_create(KIM_ModelCreate *modelCreate, KIM_LengthUnit requestedLengthUnit,
                           KIM_EnergyUnit requestedEnergyUnit, KIM_ChargeUnit requestedChargeUnit,
                           KIM_TemperatureUnit requestedTemperatureUnit, KIM_TimeUnit requestedTimeUnit);

static void free_buffer(kim_buffer *b)
{
    if (!b) return;
    physm_local_eval_destroy(b->ev);
    physm_layout_free(&b->lay);
    free(b->theta);
    free(b->start);
    free(b->nbr);
    free(b);
}

#undef KIM_LOGGER_FUNCTION_NAME
#define KIM_LOGGER_FUNCTION_NAME KIM_ModelCompute_LogEntry
#undef KIM_LOGGER_OBJECT_NAME
#define KIM_LOGGER_OBJECT_NAME modelCompute

static int compute_error(const KIM_ModelCompute *modelCompute, const char *what)
{
    char msg[400];
    snprintf(msg, sizeof msg, "physc model %s: %s", physm_model_get()->name, what);
    fprintf(stderr, "%s\n", msg);
    LOG_ERROR(msg);
    return 1;
}

/* KIM's neighbour lists of the contributing particles, copied into CSR
 * (a list's pointer is only promised until the next call). */
static int gather_lists(kim_buffer *b, const KIM_ModelComputeArguments *args, int n, const int *contributing)
{
    if (n + 1 > b->cap_start) {
        free(b->start);
        b->cap_start = n + 1 + n / 2;
        if (!(b->start = malloc(sizeof(long) * (size_t)b->cap_start))) return -1;
    }
    long at = 0;
    for (int i = 0; i < n; i++) {
        b->start[i] = at;
        if (!contributing[i]) continue;
        int m = 0;
        const int *list = NULL;
        if (KIM_ModelComputeArguments_GetNeighborList(args, 0, i, &m, &list)) return -1;
        if (at + m > b->cap_nbr) {
            long cap = 2 * (at + m) + 1024;
            int *nb = realloc(b->nbr, sizeof(int) * (size_t)cap);
            if (!nb) return -1;
            b->nbr = nb;
            b->cap_nbr = cap;
        }
        memcpy(b->nbr + at, list, sizeof(int) * (size_t)m);
        at += m;
    }
    b->start[n] = at;
    return 0;
}

static int model_compute(const KIM_ModelCompute *modelCompute, const KIM_ModelComputeArguments *args)
{
    kim_buffer *b;
    KIM_ModelCompute_GetModelBufferPointer(modelCompute, (void **)&b);
    int *n = NULL, *species = NULL, *contributing = NULL;
    double *r = NULL, *energy = NULL, *forces = NULL, *particle_energy = NULL, *virial = NULL;
    if (KIM_ModelComputeArguments_GetArgumentPointerInteger(args, KIM_COMPUTE_ARGUMENT_NAME_numberOfParticles, &n) ||
        KIM_ModelComputeArguments_GetArgumentPointerInteger(args, KIM_COMPUTE_ARGUMENT_NAME_particleSpeciesCodes,
                                                            &species) ||
        KIM_ModelComputeArguments_GetArgumentPointerInteger(args, KIM_COMPUTE_ARGUMENT_NAME_particleContributing,
                                                            &contributing) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(args, KIM_COMPUTE_ARGUMENT_NAME_coordinates, &r) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(args, KIM_COMPUTE_ARGUMENT_NAME_partialEnergy, &energy) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(args, KIM_COMPUTE_ARGUMENT_NAME_partialForces, &forces) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(args, KIM_COMPUTE_ARGUMENT_NAME_partialParticleEnergy,
                                                           &particle_energy) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(args, KIM_COMPUTE_ARGUMENT_NAME_partialVirial, &virial))
        return compute_error(modelCompute, "the simulator's arguments cannot be read");
    if (gather_lists(b, args, *n, contributing))
        return compute_error(modelCompute, "the simulator's neighbour lists cannot be read (or out of memory)");
    physm_local_config c = {*n, r, contributing, species, b->start, b->nbr};
    if (physm_local_eval_run(b->ev, &c, energy, forces, particle_energy, virial))
        return compute_error(modelCompute, physm_local_eval_error(b->ev));
    if (!b->warned_extrapolation && physm_local_eval_extrapolated(b->ev)) {
        char msg[400];
        snprintf(msg, sizeof msg, "physc model %s: warning: atoms' descriptors outside the range of the training "
                 "frames (the network extrapolates there); said once", physm_model_get()->name);
        fprintf(stderr, "%s\n", msg);
        LOG_WARNING(msg);
        b->warned_extrapolation = 1;
    }
    return 0;
}

#undef KIM_LOGGER_FUNCTION_NAME
#define KIM_LOGGER_FUNCTION_NAME KIM_ModelComputeArgumentsCreate_LogEntry
#undef KIM_LOGGER_OBJECT_NAME
#define KIM_LOGGER_OBJECT_NAME modelComputeArgumentsCreate

static int compute_arguments_create(const KIM_ModelCompute *modelCompute,
                                    KIM_ModelComputeArgumentsCreate *modelComputeArgumentsCreate)
{
    (void)modelCompute;
    const KIM_ComputeArgumentName supported[] = {
        KIM_COMPUTE_ARGUMENT_NAME_partialEnergy, KIM_COMPUTE_ARGUMENT_NAME_partialForces,
        KIM_COMPUTE_ARGUMENT_NAME_partialParticleEnergy, KIM_COMPUTE_ARGUMENT_NAME_partialVirial};
    int error = 0;
    for (size_t k = 0; k < sizeof supported / sizeof *supported; k++)
        error = error || KIM_ModelComputeArgumentsCreate_SetArgumentSupportStatus(
                             modelComputeArgumentsCreate, supported[k], KIM_SUPPORT_STATUS_optional);
    if (error) LOG_ERROR("physc model: cannot register the compute arguments");
    return error;
}

static int compute_arguments_destroy(const KIM_ModelCompute *modelCompute,
                                     KIM_ModelComputeArgumentsDestroy *modelComputeArgumentsDestroy)
{
    (void)modelCompute;
    (void)modelComputeArgumentsDestroy;
    return 0;
}

static int model_destroy(KIM_ModelDestroy *modelDestroy)
{
    kim_buffer *b;
    KIM_ModelDestroy_GetModelBufferPointer(modelDestroy, (void **)&b);
    free_buffer(b);
    return 0;
}

#undef KIM_LOGGER_FUNCTION_NAME
#define KIM_LOGGER_FUNCTION_NAME KIM_ModelCreate_LogEntry
#undef KIM_LOGGER_OBJECT_NAME
#define KIM_LOGGER_OBJECT_NAME modelCreate

static int create_error(KIM_ModelCreate *modelCreate, kim_buffer *b, const char *what)
{
    char msg[400];
    snprintf(msg, sizeof msg, "physc model %s: %s", physm_model_get()->name, what);
    fprintf(stderr, "%s\n", msg);
    LOG_ERROR(msg);
    free_buffer(b);
    return 1;
}

/* Registers each of the comma-separated species names (code = position). */
static int register_species(KIM_ModelCreate *modelCreate, kim_buffer *b, int *n_species)
{
    char names[1024];
    snprintf(names, sizeof names, "%s", physm_export_species);
    *n_species = 0;
    for (char *save = NULL, *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        KIM_SpeciesName sp = KIM_SpeciesName_FromString(name);
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' is not a species the KIM API knows", name);
        if (!KIM_SpeciesName_Known(sp)) return create_error(modelCreate, b, msg);
        if (*n_species == KIM_MAX_SPECIES || KIM_ModelCreate_SetSpeciesCode(modelCreate, sp, (*n_species)++))
            return create_error(modelCreate, b, "cannot register the species");
    }
    if (*n_species == 0) return create_error(modelCreate, b, "no species (physc --kim-species NAMES)");
    return 0;
}

int physm_kim_model_create(KIM_ModelCreate *modelCreate, KIM_LengthUnit requestedLengthUnit,
                           KIM_EnergyUnit requestedEnergyUnit, KIM_ChargeUnit requestedChargeUnit,
                           KIM_TemperatureUnit requestedTemperatureUnit, KIM_TimeUnit requestedTimeUnit)
{
    (void)requestedLengthUnit, (void)requestedEnergyUnit, (void)requestedChargeUnit;
    (void)requestedTemperatureUnit, (void)requestedTimeUnit;
    const physm_model *m = physm_model_get();
    kim_buffer *b = calloc(1, sizeof *b);
    if (!b) return create_error(modelCreate, NULL, "out of memory");
    if (physm_layout_init(&b->lay, m, m->name)) {
        free(b);
        return create_error(modelCreate, NULL, "the model's descriptor is invalid");
    }
    char err[300] = "";
    int n_species = 0;
    const char *why = physm_local_eval_unsupported(m->system);
    if (why) return create_error(modelCreate, b, why);
    if (!(b->theta = calloc(b->lay.n_theta + 1, sizeof *b->theta))) return create_error(modelCreate, b, "out of memory");
    if (physm_exported_theta(&b->lay, physm_export_checkpoint, (size_t)physm_export_checkpoint_size, b->theta, err,
                             sizeof err))
        return create_error(modelCreate, b, err);
    if (register_species(modelCreate, b, &n_species)) return 1;
    if (!(b->ev = physm_local_eval_create(&b->lay, b->theta, n_species, err, sizeof err)))
        return create_error(modelCreate, b, err);
    b->influence = b->cutoff = physm_local_eval_cutoff(b->ev);
    b->will_not_request_ghost_neighbors = 1;
    int error = KIM_ModelCreate_SetUnits(modelCreate, KIM_LENGTH_UNIT_A, KIM_ENERGY_UNIT_eV, KIM_CHARGE_UNIT_unused,
                                         KIM_TEMPERATURE_UNIT_unused, KIM_TIME_UNIT_unused) ||
                KIM_ModelCreate_SetModelNumbering(modelCreate, KIM_NUMBERING_zeroBased);
    KIM_ModelCreateFunction *create = physm_kim_model_create;
    KIM_ModelComputeArgumentsCreateFunction *ca_create = compute_arguments_create;
    KIM_ModelComputeFunction *compute = model_compute;
    KIM_ModelComputeArgumentsDestroyFunction *ca_destroy = compute_arguments_destroy;
    KIM_ModelDestroyFunction *destroy = model_destroy;
    (void)create;
    const struct {
        KIM_ModelRoutineName name;
        KIM_Function *fn;
        int required;
    } routines[] = {
        {KIM_MODEL_ROUTINE_NAME_ComputeArgumentsCreate, (KIM_Function *)ca_create, 1},
        {KIM_MODEL_ROUTINE_NAME_Compute, (KIM_Function *)compute, 1},
        {KIM_MODEL_ROUTINE_NAME_ComputeArgumentsDestroy, (KIM_Function *)ca_destroy, 1},
        {KIM_MODEL_ROUTINE_NAME_Destroy, (KIM_Function *)destroy, 1},
    };
    for (size_t k = 0; k < sizeof routines / sizeof *routines; k++)
        error = error || KIM_ModelCreate_SetRoutinePointer(modelCreate, routines[k].name, KIM_LANGUAGE_NAME_c,
                                                           routines[k].required, routines[k].fn);
    if (error) return create_error(modelCreate, b, "cannot register units, numbering or routines");
    KIM_ModelCreate_SetModelBufferPointer(modelCreate, b);
    KIM_ModelCreate_SetInfluenceDistancePointer(modelCreate, &b->influence);
    KIM_ModelCreate_SetNeighborListPointers(modelCreate, 1, &b->cutoff, &b->will_not_request_ghost_neighbors);
    return 0;
}
