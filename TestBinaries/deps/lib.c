/* One tiny library source for every layout: LIBNAME names the variant so a test (or a run of the real
   loader) can tell which copy was loaded. */
#ifndef LIBNAME
#define LIBNAME "lib"
#endif
const char *which(void) { return LIBNAME; }
