/* Export (see export.h): a compiled particle model as a KIM API portable
 * model's source directory, or as a C library (emit.c links it; this file
 * adds its data and its header). The KIM directory holds no source of the
 * model, only objects: KIM's CMake (kim-api-items) compiles its wrapper
 * and links NAME.o with libphysrt_kim.a (runtime/kim_model.c: the create,
 * compute and destroy routines) and libphysrt.a into the portable model's
 * shared library. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include "export.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <llvm-c/Core.h>

#include "physmodel.h" /* PHYSM_ITEMS */

static int fail(const char *what, const char *path, const char *why)
{
    fprintf(stderr, "physc: error: %s%s%s%s%s\n", what, path ? " " : "", path ? path : "", why ? ": " : "",
            why ? why : "");
    return 1;
}

/* The whole file (caller frees), or NULL with errno set. */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *grown = realloc(buf, 2 * cap);
        if (!grown) free(buf);
        buf = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || !buf) {
        free(buf);
        errno = bad ? EIO : ENOMEM;
        return NULL;
    }
    *size = n;
    return buf;
}

static int write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite(data, 1, size, f) != size;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

static int copy_file(const char *from, const char *to)
{
    size_t size = 0;
    unsigned char *data = read_file(from, &size);
    if (!data) return fail("cannot read", from, strerror(errno));
    int rc = write_file(to, data, size);
    free(data);
    return rc ? fail("cannot write", to, strerror(errno)) : 0;
}

int phys_export_check(const lw_model *model, const char *file, int kim)
{
    const lw_system *s = model->system;
    const char *why = !s ? "it has no particle system (particles under Newtonian dynamics)"
                      : s->n_sets != 1 ? "it has more than one particle set"
                      : !s->combine ? "it has no potential energy (a force without an energy)" : NULL;
    if (!why && kim && s->dim != 3) why = "its particles are not in 3-D";
    if (!why && kim && s->seeds_needed)
        why = "its potential energy is not linear in its sums over particles, pairs and triplets, so it does "
              "not split into the domains of a simulator";
    for (int k = 0; !why && kim && k < s->n_kernels; k++)
        if (s->kernels[k].kind != PHYSM_ITEMS && s->kernels[k].cutoff <= 0)
            why = "a sum runs over every pair without a cutoff: give it one ('within rc')";
    if (!why) return 0;
    fprintf(stderr, "physc: error: %s: cannot export the model %s: %s\n", file, kim ? "to KIM" : "as a library", why);
    return 1;
}

static void add_constant(LLVMModuleRef module, const char *name, LLVMValueRef init)
{
    LLVMValueRef g = LLVMAddGlobal(module, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
}

int phys_export_data(LLVMModuleRef module, const char *species, const char *checkpoint)
{
    LLVMContextRef ctx = LLVMGetModuleContext(module);
    unsigned char *bytes = NULL;
    size_t size = 0;
    if (checkpoint && !(bytes = read_file(checkpoint, &size)))
        return fail("cannot read the checkpoint", checkpoint, strerror(errno));
    if (size > UINT32_MAX) {
        free(bytes);
        return fail("the checkpoint is too large to embed:", checkpoint, NULL);
    }
    add_constant(module, "physm_export_species", LLVMConstStringInContext(ctx, species, (unsigned)strlen(species), 0));
    add_constant(module, "physm_export_checkpoint",
                 LLVMConstStringInContext(ctx, bytes ? (const char *)bytes : "", (unsigned)size, 1));
    add_constant(module, "physm_export_checkpoint_size", LLVMConstInt(LLVMInt64TypeInContext(ctx), size, 0));
    free(bytes);
    return 0;
}

static const char kim_cmake[] =
    "# A physc model as a KIM API portable model (written by physc --kim).\n"
    "# Install: kim-api-collections-management install user THIS_DIRECTORY\n"
    "cmake_minimum_required(VERSION 3.10)\n"
    "list(APPEND CMAKE_PREFIX_PATH $ENV{KIM_API_CMAKE_PREFIX_DIR})\n"
    "find_package(KIM-API-ITEMS 2.2 REQUIRED CONFIG)\n"
    "kim_api_items_setup_before_project(ITEM_TYPE \"portableModel\")\n"
    "project(%s LANGUAGES C)\n"
    "kim_api_items_setup_after_project(ITEM_TYPE \"portableModel\")\n"
    "add_kim_api_model_library(\n"
    "  NAME                    ${PROJECT_NAME}\n"
    "  CREATE_ROUTINE_NAME     \"physm_kim_model_create\"\n"
    "  CREATE_ROUTINE_LANGUAGE \"c\"\n"
    "  )\n"
    "target_sources(${PROJECT_NAME} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/model.o)\n"
    "target_link_libraries(${PROJECT_NAME} PRIVATE\n"
    "  ${CMAKE_CURRENT_SOURCE_DIR}/libphysrt_kim.a ${CMAKE_CURRENT_SOURCE_DIR}/libphysrt.a m\n"
    "  -Wl,--exclude-libs,ALL)\n";

int phys_export_kim(LLVMModuleRef module, const phys_emit_options *eo, const char *name, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return fail("cannot make the directory", dir, strerror(errno));
    size_t n = strlen(dir) + 64;
    char *object = malloc(n), *lib = malloc(n), *cmake = malloc(n);
    size_t rn = strlen(eo->runtime_lib) + 16;
    char *kim_lib = malloc(rn);
    int rc = 1;
    if (!object || !lib || !cmake || !kim_lib) goto done;
    /* libphysrt_kim.a lies beside libphysrt.a (the build tree's runtime/, or PREFIX/lib/physc) */
    snprintf(kim_lib, rn, "%s", eo->runtime_lib);
    char *slash = strrchr(kim_lib, '/');
    snprintf(slash ? slash + 1 : kim_lib, rn - (size_t)(slash ? slash + 1 - kim_lib : 0), "libphysrt_kim.a");
    FILE *probe = fopen(kim_lib, "rb");
    if (!probe) {
        fail("cannot read", kim_lib,
             "this physc was built without the KIM API (install libkim-api-dev and build physc again)");
        goto done;
    }
    fclose(probe);
    snprintf(object, n, "%s/model.o", dir);
    phys_emit_options o = *eo;
    o.kind = EMIT_OBJECT;
    o.output = object;
    if (phys_emit(module, &o)) goto done;
    snprintf(lib, n, "%s/libphysrt.a", dir);
    if (copy_file(eo->runtime_lib, lib)) goto done;
    snprintf(lib, n, "%s/libphysrt_kim.a", dir);
    if (copy_file(kim_lib, lib)) goto done;
    snprintf(cmake, n, "%s/CMakeLists.txt", dir);
    size_t tn = sizeof kim_cmake + strlen(name);
    char *text = malloc(tn);
    if (!text) goto done;
    snprintf(text, tn, kim_cmake, name);
    if (write_file(cmake, text, strlen(text))) fail("cannot write", cmake, strerror(errno));
    else rc = 0;
    free(text);
done:
    if (!object || !lib || !cmake || !kim_lib) fail("out of memory", NULL, NULL);
    free(object);
    free(lib);
    free(cmake);
    free(kim_lib);
    return rc;
}

int phys_export_header(const char *library, const char *header)
{
    const char *slash = strrchr(library, '/');
    size_t dir_len = slash ? (size_t)(slash - library + 1) : 0;
    char *path = malloc(dir_len + sizeof "physc_potential.h");
    if (!path) return fail("out of memory", NULL, NULL);
    memcpy(path, library, dir_len);
    strcpy(path + dir_len, "physc_potential.h");
    int rc = copy_file(header, path);
    free(path);
    return rc;
}
