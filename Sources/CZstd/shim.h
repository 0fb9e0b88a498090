#ifndef CZSTD_SHIM_H
#define CZSTD_SHIM_H
// libzstd as the system installs it (libzstd-dev), for zstd-compressed image layers. Nothing but the
// include: the streaming API is plain functions Swift imports as they are.
#include <zstd.h>
#endif
