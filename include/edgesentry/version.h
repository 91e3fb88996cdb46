/* edgesentry/version.h - library version. */
#ifndef EDGESENTRY_VERSION_H
#define EDGESENTRY_VERSION_H

#define EDS_VERSION_MAJOR  0
#define EDS_VERSION_MINOR  1
#define EDS_VERSION_PATCH  0
#define EDS_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the library actually linked (may differ from the header). */
const char *eds_version(void);

#ifdef __cplusplus
}
#endif
#endif
