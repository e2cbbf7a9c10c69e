/* The descriptor ABI: codegen's LLVM mirror of every struct in
 * runtime/physmodel_abi.h, built by the function codegen uses
 * (phys_codegen_abi_types), laid out by the data layout physc emits with
 * (phys_host_machine), against the C compiler's layout of physmodel.h: every
 * member's offset and size, every struct's size and alignment. Then the
 * headers themselves, read as text: each struct's member names, in order,
 * are the table's (a member added in C and forgotten in the table is found
 * even when it fits in padding), and every struct of physmodel.h is in the
 * table.
 *
 * usage: test_abi RUNTIME_DIR (where physmodel.h and physrt.h are) */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "check.h"
#include "codegen.h"
#include "emit.h"
#include "physmodel.h"
#include "physmodel_abi.h"

/* The table, by struct: C name, layout id, member names. */
#define MEMBER_NAME(ID, member, kind) #member,
#define TABLE_ENTRY(ID, c_type) {#c_type, PHYSM_ABI_##ID, (const char *const[]){PHYSM_ABI_MEMBERS_##ID(MEMBER_NAME, ID)}, ID##__COUNT},
static const struct {
    const char *c_type;
    physm_abi_layout id;
    const char *const *members;
    int n_members;
} table[] = {PHYSM_ABI_STRUCTS(TABLE_ENTRY)};
enum { N_STRUCTS = sizeof table / sizeof table[0] };

/* The data layout physc emits with. */
static LLVMTargetDataRef host_layout(LLVMTargetMachineRef *tm)
{
    char *error = NULL;
    *tm = phys_host_machine(2, &error);
    if (!*tm) {
        fprintf(stderr, "test_abi: %s\n", error);
        exit(1);
    }
    return LLVMCreateTargetDataLayout(*tm);
}

static void check_member(LLVMTargetDataRef td, LLVMTypeRef st, const char *c_type, const char *member,
                         unsigned index, size_t c_offset, size_t c_size)
{
    if (index >= LLVMCountStructElementTypes(st)) {
        CHECK(0, "%s.%s: no LLVM element %u", c_type, member, index);
        return;
    }
    unsigned long long offset = LLVMOffsetOfElement(td, st, index);
    unsigned long long size = LLVMABISizeOfType(td, LLVMStructGetTypeAtIndex(st, index));
    CHECK(offset == c_offset, "%s.%s: LLVM offset %llu, C offsetof %zu", c_type, member, offset, c_offset);
    CHECK(size == c_size, "%s.%s: LLVM size %llu, C sizeof %zu", c_type, member, size, c_size);
}

static void check_layouts(LLVMTargetDataRef td, LLVMTypeRef *types)
{
#define MEMBER_LAYOUT(c_type, member, kind) \
    check_member(td, st, #c_type, #member, index++, offsetof(c_type, member), sizeof(((c_type *)0)->member));
#define STRUCT_LAYOUT(ID, c_type)                                                                     \
    {                                                                                                 \
        LLVMTypeRef st = types[PHYSM_ABI_##ID];                                                       \
        unsigned index = 0;                                                                           \
        PHYSM_ABI_MEMBERS_##ID(MEMBER_LAYOUT, c_type)                                                 \
        CHECK(LLVMCountStructElementTypes(st) == index, "%s: %u LLVM elements, %u in the table",    \
              #c_type, LLVMCountStructElementTypes(st), index);                                       \
        CHECK(!strcmp(LLVMGetStructName(st), #c_type), "%s: LLVM name %s", #c_type, LLVMGetStructName(st)); \
        CHECK(LLVMABISizeOfType(td, st) == sizeof(c_type), "%s: LLVM size %llu, C sizeof %zu", #c_type, \
              LLVMABISizeOfType(td, st), sizeof(c_type));                                             \
        CHECK(LLVMABIAlignmentOfType(td, st) == _Alignof(c_type), "%s: LLVM alignment %u, C %zu",    \
              #c_type, LLVMABIAlignmentOfType(td, st), _Alignof(c_type));                             \
    }
    PHYSM_ABI_STRUCTS(STRUCT_LAYOUT)
#undef STRUCT_LAYOUT
#undef MEMBER_LAYOUT
}

/* ------------------------------------------------ the headers as text */

static char *read_header(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "test_abi: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) exit(1);
    text[n] = 0;
    fclose(f);
    /* comments and preprocessor lines become spaces */
    for (char *p = text; *p; p++) {
        if (p[0] == '/' && p[1] == '*') {
            char *end = strstr(p + 2, "*/");
            end = end ? end + 2 : p + strlen(p);
            memset(p, ' ', (size_t)(end - p));
        } else if ((p[0] == '/' && p[1] == '/') || (p[0] == '#' && (p == text || p[-1] == '\n'))) {
            while (*p && *p != '\n') *p++ = ' ';
        }
    }
    return text;
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_';
}

/* The name a declarator declares: the identifier after "(*" for a function
 * pointer, else the last identifier before any array bound. */
static void declarator_name(const char *s, const char *end, char *name, size_t size)
{
    const char *fp = s;
    while (fp < end && !(fp[0] == '(' && fp + 1 < end && fp[1] == '*')) fp++;
    if (fp < end) {
        s = fp + 2;
        while (s < end && isspace((unsigned char)*s)) s++;
        const char *e = s;
        while (e < end && is_ident((unsigned char)*e)) e++;
        end = e;
    } else {
        for (const char *q = s; q < end; q++)
            if (*q == '[') end = q;
    }
    while (end > s && !is_ident((unsigned char)end[-1])) end--;
    const char *start = end;
    while (start > s && is_ident((unsigned char)start[-1])) start--;
    size_t n = (size_t)(end - start) < size - 1 ? (size_t)(end - start) : size - 1;
    memcpy(name, start, n);
    name[n] = 0;
}

typedef struct {
    char name[64];
    char members[64][64];
    int n_members;
} c_struct;

/* Every "typedef struct { ... } NAME;" of text, members in order. */
static int parse_structs(const char *text, c_struct *out, int max)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, "typedef struct")) && n < max;) {
        p += strlen("typedef struct");
        while (isspace((unsigned char)*p)) p++;
        if (*p != '{') continue; /* an opaque struct */
        const char *body = p + 1, *close = strchr(body, '}');
        if (!close) break;
        c_struct *cs = &out[n++];
        cs->n_members = 0;
        for (const char *decl = body; decl < close;) {
            const char *semi = memchr(decl, ';', (size_t)(close - decl));
            if (!semi) break;
            /* declarators split at commas outside parentheses */
            int depth = 0;
            for (const char *part = decl, *q = decl; q <= semi; q++) {
                if (*q == '(') depth++;
                if (*q == ')') depth--;
                if ((*q == ',' && depth == 0) || q == semi) {
                    if (cs->n_members < 64) declarator_name(part, q, cs->members[cs->n_members++], 64);
                    part = q + 1;
                }
            }
            decl = semi + 1;
        }
        const char *name = close + 1;
        while (isspace((unsigned char)*name)) name++;
        size_t len = 0;
        while (is_ident((unsigned char)name[len])) len++;
        snprintf(cs->name, sizeof cs->name, "%.*s", (int)len, name);
        p = name + len;
    }
    return n;
}

static const c_struct *find_struct(const c_struct *structs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(structs[i].name, name)) return &structs[i];
    return NULL;
}

static void check_headers(const char *dir)
{
    char *model_h = read_header(dir, "physmodel.h"), *rt_h = read_header(dir, "physrt.h");
    static c_struct structs[256];
    int n_model = parse_structs(model_h, structs, 256);
    int n = n_model + parse_structs(rt_h, structs + n_model, 256 - n_model);
    for (int t = 0; t < N_STRUCTS; t++) {
        const c_struct *cs = find_struct(structs, n, table[t].c_type);
        CHECK(cs, "%s: in physmodel_abi.h, not a struct of physmodel.h or physrt.h", table[t].c_type);
        if (!cs) continue;
        CHECK(cs->n_members == table[t].n_members, "%s: %d members in C, %d in physmodel_abi.h", cs->name,
              cs->n_members, table[t].n_members);
        for (int k = 0; k < cs->n_members && k < table[t].n_members; k++)
            CHECK(!strcmp(cs->members[k], table[t].members[k]), "%s: member %d is %s in C, %s in physmodel_abi.h",
                  cs->name, k, cs->members[k], table[t].members[k]);
    }
    /* generated code builds every struct of the contract through the table */
    for (int i = 0; i < n_model; i++) {
        int listed = 0;
        for (int t = 0; t < N_STRUCTS; t++) listed |= !strcmp(structs[i].name, table[t].c_type);
        CHECK(listed, "%s: a struct of physmodel.h missing from physmodel_abi.h", structs[i].name);
    }
    free(model_h);
    free(rt_h);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_abi RUNTIME_DIR\n");
        return 2;
    }
    LLVMTargetMachineRef tm;
    LLVMTargetDataRef td = host_layout(&tm);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMTypeRef types[PHYSM_ABI_N_LAYOUTS];
    phys_codegen_abi_types(ctx, types);
    check_layouts(td, types);
    check_headers(argv[1]);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetData(td);
    LLVMDisposeTargetMachine(tm);
    return check_summary("test_abi");
}
