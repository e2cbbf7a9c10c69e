/* physc import-n2p2 DIR -o NAME (import_n2p2.c): an n2p2 potential's
 * input.nn, scaling.data and weights.ZZZ.data as NAME.phys and NAME.ckpt. */
#ifndef PHYS_IMPORT_N2P2_H
#define PHYS_IMPORT_N2P2_H

/* 0 on success; 1 after a reported error (file:line: error: ...). stdlib:
 * where the written model's imports are found. */
int phys_import_n2p2(const char *dir, const char *name, const char *stdlib);

#endif
