#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
// zlib as the system installs it (zlib1g-dev), for gzip-compressed image layers. Nothing but the include:
// inflateInit2 is a macro Swift cannot import, so the Image module calls inflateInit2_ with ZLIB_VERSION.
#include <zlib.h>
#endif
