/* Time zone names as `usage.timezone` takes them: "local" or an IANA name
 * of the tz database ("Asia/Shanghai", "UTC"). qccc validates with this at
 * build time, qcc-run again at load (the database is the machine's). */
#ifndef QCC_SCHEMA_ZONE_H
#define QCC_SCHEMA_ZONE_H

#include <stdbool.h>

/* True for "local", or a name of letters, digits and / _ + - (no "..", no
 * leading /) whose file under $TZDIR (default /usr/share/zoneinfo) is a
 * TZif file. glibc falls back to UTC for a name it cannot find, silently:
 * this is what keeps a typo from moving every budget reset. */
bool qcc_zone_known(const char *name);

#endif
