#ifndef CLIBELF_SHIM_H
#define CLIBELF_SHIM_H
// libelf and gelf, as the system installs them (libelf-dev). Nothing but includes: the ELF module
// holds the logic, and the few GELF_* macros Swift cannot import are re-stated there as functions.
#include <libelf.h>
#include <gelf.h>
#endif
