/* The proxy's operating hooks (runtime/proxy.c): the failure queue, dead
 * letters, the global in-flight limit, metrics and journal records for the
 * queue's life (docs/queue.md, "Wiring"). qcc-run's main sets them once;
 * a proxy without hooks (unit tests, the fuzz driver) behaves as before:
 * no queue, no limit, no metrics. Everything runs on the loop thread. */
#ifndef QCC_RUNTIME_PROXY_H
#define QCC_RUNTIME_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "exchange.h"

struct qcc_queue;
struct qcc_deadletters;
struct qcc_limits;
struct qcc_metrics;
struct qcc_budgetgate;
struct qcc_jrec;
struct qcc_curlloop;

struct qcc_proxy_hooks {
  struct qcc_queue *queue;             /* NULL: no failure queue */
  struct qcc_deadletters *deadletters; /* NULL: expired requests are not kept */
  struct qcc_limits *limits;           /* NULL: no global in-flight limit */
  struct qcc_metrics *metrics;         /* NULL: nothing counted */
  struct qcc_usagelog *usage;          /* NULL: usage is not recorded (runtime/usagelog.h) */
  struct qcc_budgetgate *budget;       /* NULL: no budgets (runtime/budgetgate.h) */
  /* Queue records for the journal (queue_enqueued, ...); may be NULL. */
  void (*journal)(void *ctx, struct qcc_jrec *r);
  void *ctx;
};

/* Borrowed pointers: they must outlive the proxy's exchanges. */
void qcc_proxy_set_hooks(struct qcc_proxy *p, const struct qcc_proxy_hooks *h);
struct qcc_metrics *qcc_proxy_metrics(const struct qcc_proxy *p);

/* An endpoint recovered (router event): every waiting request is retried now. */
void qcc_proxy_queue_wake(struct qcc_proxy *p);
/* The queue's or the limit's settings changed (table reload): re-arm the
 * timers and let waiters go under a raised limit. */
void qcc_proxy_limits_changed(struct qcc_proxy *p);

/* Shutdown: nothing more enters the queue; the requests waiting in it are
 * answered now (503) and kept as dead letters, so a drain does not wait
 * for their retries. Requests with a retry in flight end by themselves. */
void qcc_proxy_stop_queue(struct qcc_proxy *p);

/* Like qcc_exchange_start, but never queued and outside the in-flight limit:
 * for internal exchanges (dead-letter replays) whose caller waits itself. */
struct qcc_exchange *qcc_exchange_start_direct(struct qcc_proxy *p, const struct qcc_request *req,
                                               const struct qcc_sink_ops *ops, void *ctx);

/* The curl loop the proxy sends URL's requests on (the h2 one for an origin
 * known to speak HTTP/2, h2origins.h), for transfers that must share the
 * proxy's connections (warmer.h); and what a finished one spoke. */
struct qcc_curlloop *qcc_proxy_curlloop_for(struct qcc_proxy *p, const char *url);
void qcc_proxy_learn_protocol(struct qcc_proxy *p, const char *url, CURL *easy);

/* Requests in the failure queue or on the in-flight wait list now. */
uint64_t qcc_proxy_waiting(const struct qcc_proxy *p);

/* True when a 429 body (NUL-terminated, the first few KiB) says the
 * account's spend or credit limit is used up, not a per-minute rate limit:
 * the endpoint then rests long (router rest_spend_ms). */
bool qcc_proxy_body_says_spend_exhausted(const char *body);

#endif
