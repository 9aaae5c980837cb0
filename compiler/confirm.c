#include "compiler/confirm.h"

#include <ctype.h>
#include <unistd.h>

enum qccc_confirm qccc_confirm(bool yes, bool irreversible, const char *what, FILE *in, FILE *out,
                               FILE *err) {
  if (yes) return QCCC_CONFIRM_GO;
  if (in == NULL || !isatty(fileno(in))) {
    if (!irreversible) return QCCC_CONFIRM_GO;
    fprintf(err, "qccc: this would %s\n  not asked (stdin is not a terminal): pass -y to confirm\n",
            what);
    return QCCC_CONFIRM_REFUSED;
  }
  fprintf(out, "%c%s? [y/N] ", toupper((unsigned char)what[0]), what + 1);
  fflush(out);
  char line[16];
  if (fgets(line, sizeof line, in) == NULL || (line[0] != 'y' && line[0] != 'Y')) {
    fprintf(out, "cancelled; nothing changed\n");
    return QCCC_CONFIRM_CANCELLED;
  }
  return QCCC_CONFIRM_GO;
}
