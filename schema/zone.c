#include "zone.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool qcc_zone_known(const char *name) {
  if (name == NULL || name[0] == '\0') return false;
  if (strcmp(name, "local") == 0) return true;
  if (name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 255) return false;
  for (const char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && strchr("/_+-", *p) == NULL) return false;
  const char *dir = getenv("TZDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo",
           name);
  FILE *f = fopen(path, "rb"); /* a directory (Asia) opens but reads nothing */
  if (f == NULL) return false;
  char magic[4] = {0};
  size_t got = fread(magic, 1, sizeof magic, f);
  fclose(f);
  return got == sizeof magic && memcmp(magic, "TZif", 4) == 0;
}
