/* A library whose exported functions are chosen with -D: v1 and v2 of the same soname differ only in
 * what they define, which is what the version and symbol scenarios need. */
#define EXPORT(name) int name(void) { return 1; }
#ifdef DEF_VER_ONE
EXPORT(ver_one)
#endif
#ifdef DEF_VER_TWO
EXPORT(ver_two)
#endif
#ifdef DEF_GONE
EXPORT(gone)
#endif
#ifdef DEF_PRIV
EXPORT(priv)
#endif
#ifdef DEF_ALINK
EXPORT(alink)
#endif
#ifdef DEF_SHADOW
EXPORT(shadow)
#endif
#ifdef DEF_SYM_BASE
EXPORT(sym_base)
#endif
#ifdef DEF_SYM_EXTRA
EXPORT(sym_extra)
#endif
#ifdef DEF_DANGLING
EXPORT(dangling)
#endif
