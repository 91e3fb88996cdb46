/*
 * fuzz_entry.h - prototypes of the libFuzzer entry points, force-included
 * into every harness by fuzz/CMakeLists.txt (libFuzzer ships no header).
 */
#ifndef EDS_FUZZ_ENTRY_H
#define EDS_FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
