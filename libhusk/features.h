/* husk: what this build supports: `husk features` and the +FLAGS of --version. */
#ifndef HUSK_FEATURES_H
#define HUSK_FEATURES_H

/* "+SECCOMP +CAP ..." for the features compiled in (static string). */
const char *husk_build_features(void);

/* The JSON document of features.md (heap, pretty-printed). Lists only what husk implements. */
char *husk_features_json(void);

#endif
