/* `qccc service`: qcc-run as a systemd service.
 *
 *   service install [--user | --system] [-c FILE] [-o TABLE] [--state-dir DIR]
 *                   [--run-as USER] [--root DIR] [--no-start]
 *   service uninstall [--user | --system] [--root DIR]
 *   service status [--user | --system] [--root DIR]
 *
 * install builds the config, writes a hardened unit qcc-run.service (a user
 * unit by default: ~/.config/systemd/user; --system: /etc/systemd/system,
 * run as USER) that runs qcc-run on the table with its logs and pidfile in
 * the state dir (so `qccc logs`, `reload` and `status` work the same), then
 * enables and starts it when systemd runs here; otherwise it says what to
 * run. --root DIR (or $QCC_SERVICE_ROOT) puts the unit under DIR and never
 * calls systemctl (packaging, tests). */
#ifndef QCC_COMPILER_SERVICE_H
#define QCC_COMPILER_SERVICE_H

#include <stdio.h>

/* argv[0] is "service". Returns the exit code. */
int qccc_service_cmd(int argc, char **argv, FILE *out, FILE *err);

#endif
