/* Alerts (health.alert_enabled, health.alert_threshold, alerts.*): qcc-run
 * notices the moments a person should know about and tells them.
 *
 * What raises an alert (each once per episode, with its end as a second
 * alert where there is one):
 *   endpoint_unhealthy   an endpoint's health is unhealthy and its active
 *                        checks failed alert_threshold times in a row
 *   endpoint_recovered   ... and later it is healthy again
 *   profile_switch       the active profile changed (failover or recovery)
 *   all_down             no enabled endpoint could take a request for
 *                        alert_threshold seconds in a row
 *   all_down_over        ... and later one can
 * The state is looked at once a second (and at every switch event) from the
 * router's own view, so an alert agrees with `qccc health status`.
 *
 * How it is told: a warning line in the error log and the hook (main
 * journals an `alert` record, which the status page's timeline shows),
 * always; then, when set,
 *   alerts.exec     `/bin/sh -c COMMAND` with the alert as one JSON object on
 *                   stdin, in its own process group, killed after
 *                   alerts.timeout; its environment is PATH, HOME, USER,
 *                   LANG, DISPLAY, WAYLAND_DISPLAY, XDG_RUNTIME_DIR and
 *                   DBUS_SESSION_BUS_ADDRESS from qcc-run's, plus QCC_ALERT_KIND:
 *                   never the variables that hold API keys;
 *   alerts.webhook  a JSON POST of the same object (libcurl, on the loop),
 *                   up to 3 tries 1 s and 2 s apart on a connection error, a
 *                   5xx or a 429, each bounded by alerts.timeout.
 * Nothing here blocks the loop. At most QCC_ALERTS_MAX_BUSY deliveries run at
 * once; one more is dropped and counted. An alert holds no secret: endpoint
 * ids, profile names, health errors (which never carry keys) and counts. */
#ifndef QCC_RUNTIME_ALERTS_H
#define QCC_RUNTIME_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/error.h"

struct ev_loop;
struct qcc_router;
struct qcc_route_event;
struct qcc_alerts;

#define QCC_ALERTS_MAX_BUSY 8

struct qcc_alerts_config {
  bool enabled;        /* health.alert_enabled */
  uint32_t threshold;  /* health.alert_threshold (0 taken as 1) */
  const char *exec;    /* alerts.exec, NULL or "" = none (copied) */
  const char *webhook; /* alerts.webhook, NULL or "" = none (copied) */
  uint32_t timeout_ms; /* alerts.timeout */
};

struct qcc_alerts_stats {
  uint64_t raised;     /* alerts raised (each logged) */
  uint64_t delivered;  /* hook runs that succeeded (exit 0, webhook 2xx) */
  uint64_t failed;     /* hook runs that failed for good */
  uint64_t dropped;    /* not delivered: too many deliveries running */
};

/* An alert as raised, for the hook (main journals it; the status page's
 * timeline shows it). Strings live for the call only; "" when not named. */
struct qcc_alert {
  const char *kind;     /* endpoint_unhealthy, ..., all_down_over */
  const char *endpoint; /* endpoint id */
  uint64_t endpoint_sid;
  const char *profile;
  const char *message;
};
typedef void (*qcc_alert_hook)(void *arg, const struct qcc_alert *al);

/* NOW_MS is the router's clock. */
int qcc_alerts_new(struct ev_loop *loop, struct qcc_router *router, uint64_t (*now_ms)(void),
                   struct qcc_alerts **out, struct qcc_err *err);
/* At start and at every table load. */
int qcc_alerts_configure(struct qcc_alerts *a, const struct qcc_alerts_config *c,
                         struct qcc_err *err);
/* Every routing event (main's tap): switches are alerted at once. */
void qcc_alerts_route_event(struct qcc_alerts *a, const struct qcc_route_event *e);
/* HOOK (may be NULL) runs for every alert raised, before any delivery. */
void qcc_alerts_set_hook(struct qcc_alerts *a, qcc_alert_hook hook, void *arg);
void qcc_alerts_get_stats(const struct qcc_alerts *a, struct qcc_alerts_stats *out);
/* Running hooks are killed, webhooks abandoned. */
void qcc_alerts_free(struct qcc_alerts **a);

#endif
