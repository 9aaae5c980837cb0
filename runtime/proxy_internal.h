/* Inside the upstream side (proxy.c and proxy_queue.c): the proxy, an
 * exchange and its attempts, shared by the files that split its jobs.
 * Nothing outside runtime/proxy*.c includes this; the contract with the
 * client side is exchange.h, the operating hooks proxy.h.
 *
 *   upreq.c        building the upstream request (URL, headers, body, curl options)
 *   uphead.c       reading the response head
 *   proxy.c        the attempt lifecycle: start, head, hold, body, timeouts, retry
 *   proxy_queue.c  the failure queue, dead letters and the in-flight limit */
#ifndef QCC_RUNTIME_PROXY_INTERNAL_H
#define QCC_RUNTIME_PROXY_INTERNAL_H

#include <curl/curl.h>
#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "curlloop.h"
#include "dechunk.h"
#include "deadletters.h"
#include "exchange.h"
#include "h2origins.h"
#include "jsonscan.h"
#include "proxy.h"
#include "router.h"
#include "select.h"
#include "sse.h"
#include "uphead.h"
#include "upreq.h"
#include "usagecap.h"

#define EASY_POOL_MAX 64               /* idle easy handles kept for reuse */
#define SNIFF_MAX 4096                 /* bytes of a 429 body read before deciding */
#define MAX_TRIED QCC_PICK_TRIED_MAX /* attempts per request: every endpoint once */
/* Connections per host on the h2 multi: 24 connections of 100 streams (10
 * at a small limit) before a stream waits for a slot (h2origins.h). */
#define H2_HOST_CONNECTIONS 24L
/* A 200's first body bytes held before the client sees anything, so a
 * failure there can still go to another endpoint: a stream's events before
 * its first content_block_delta, a JSON answer that may be an error object. */
#define HOLD_MAX 8192

enum hold_kind { HOLD_NONE = 0, HOLD_SSE, HOLD_JSON };

/* What the exchange's timer is counting (docs/config-reference.md). */
enum timer_mode {
  TM_NONE = 0,
  TM_FIRST,   /* streamed: request sent -> first body byte (timeout) */
  TM_HOLD,    /* streamed, first events held: release them at the same deadline */
  TM_IDLE,    /* streamed, flowing: longest silence (stream_idle_timeout) */
  TM_REQUEST, /* not streamed: the whole answer (request_timeout) */
};

struct qcc_proxy {
  struct ev_loop *loop;
  struct qcc_curlloop *cl;  /* the multi handle on the loop */
  CURLM *multi;             /* cl's */
  struct qcc_curlloop *cl2; /* for origins known to speak h2: bounded connections per host */
  struct qcc_h2origins *h2;
  size_t active;
  unsigned in_curl;         /* > 0 while inside a curl call of ours that may call the sink */
  struct qcc_exchange *all; /* every live exchange, for qcc_proxy_free */
  struct qcc_exchange *pending; /* cancel/resume asked for from inside curl */
  CURL *pool[EASY_POOL_MAX];
  size_t pool_len;
  char *dbuf;               /* de-chunked body of one upstream read */
  size_t dcap;
  /* The routing engine: main's (qcc_proxy_set_router), or, for a proxy used
   * on its own (unit tests), a private one attached to the requests' table. */
  struct qcc_router *router;
  struct qcc_router *own_router;
  const struct qcc_table *own_table;
  uint64_t own_gen;
  struct qcc_proxy_stats stats;
  struct qcc_proxy_hooks hooks;
  ev_timer qtimer;          /* the queue's and the in-flight limit's next due time */
  uint64_t ready_due;       /* an endpoint becomes eligible: wake the queue (UINT64_MAX: none) */
  bool stopping;            /* shutting down: nothing more enters the queue */
};

/* One try at one endpoint. The request itself stays on the exchange, so a
 * retry (next issue) is a new attempt on the same exchange. */
struct attempt {
  struct qcc_exchange *x;
  CURL *easy;
  struct qcc_curl_job job;      /* the loop's completion callback */
  struct qcc_curlloop *cl;      /* the loop it was added to (p->cl or p->cl2) */
  struct qcc_upreq req;          /* what goes upstream */
  uint32_t endpoint;            /* index in the request's (pinned) table */
  struct qcc_pick pick;         /* the router's pick (its indexes) */
  bool began;                   /* qcc_router_begin done, end not yet */
  bool retry;                   /* aborted on purpose: the next pick is ready */
  bool to_queue;                /* ... or nothing is left: the request goes to the queue */
  uint64_t t0_us;               /* attempt start */
  uint64_t ttfb_us;             /* attempt start -> first header byte */
  uint32_t retry_after_s, reset_s;
  const char *endpoint_id;
  uint32_t connect_ms, timeout_ms, request_ms, idle_ms;
  ev_tstamp last_io;            /* loop time of the last body bytes (idle timer) */
  struct qcc_uphead head;       /* the response head (its chunked: see dechunk.h) */
  struct qcc_dechunk dc;
  /* A 429's body is read (up to SNIFF_MAX) before the retry decision: it is
   * the only place Anthropic says a spend/credit limit is used up. */
  bool sniff;                   /* reading it now */
  size_t sniff_want;            /* bytes to read: content-length, capped */
  char *sbuf;                   /* SNIFF_MAX + 1 (NUL), allocated on use */
  size_t slen;
  bool spend_exhausted;
  bool body_seen;               /* a body byte arrived */
  enum hold_kind hold;          /* holding the first body bytes (HOLD_MAX) */
  struct held {
    struct qcc_sse sse;
    bool stop_seen;             /* message_stop: the stream is whole */
    size_t len;
    char buf[HOLD_MAX];
  } *held;                      /* allocated at the first held byte */
  int fail_status;              /* an error inside a 200: the status it stands for */
  char fail_msg[200];           /* ... and what it said */
  char errbuf[CURL_ERROR_SIZE]; /* curl's message */
  char why[96];                 /* ours, when a callback of ours aborted */
};

enum pending_op { PEND_NONE = 0, PEND_RESUME = 1, PEND_CANCEL = 2 };

struct qcc_exchange {
  struct qcc_proxy *p;
  struct qcc_exchange *prev, *next; /* p->all */
  struct qcc_exchange *pend_next;   /* p->pending */
  int pend;                         /* enum pending_op bits */
  const struct qcc_request *req;
  const struct qcc_sink_ops *ops;
  void *ctx;
  struct attempt *att;
  ev_timer timer;                   /* the attempt's timeout (tmode), or a deferred start/finish */
  enum timer_mode tmode;
  bool stream;                      /* the request asks for a stream ("stream": true) */
  bool finish_deferred;             /* timer delivers a prepared error */
  bool start_deferred;              /* timer starts the first attempt */
  bool head_sent;
  bool paused;
  bool cancelled;
  uint64_t t0_us;
  uint32_t tried[MAX_TRIED];        /* router indexes attempted */
  size_t tried_count;
  size_t attempts;
  struct qcc_select_out next_sel;   /* pick made while aborting a failed attempt */
  char session[QCC_SESSION_KEY_MAX];
  bool has_session;
  /* the body's facts, scanned once and only when a policy needs them */
  struct qcc_jsonscan_facts facts;
  bool scanned;
  struct qcc_exchange_result res;
  char msg[640];
  /* failure queue and in-flight limit (proxy.h hooks) */
  bool direct;                      /* internal: never queued, not limited */
  bool queued;                      /* in the failure queue (waiting or retrying) */
  bool limit_held;                  /* holds an in-flight slot */
  bool limit_waiting;               /* on the in-flight wait list, not started */
  uint32_t priority;
  uint32_t total_attempts;          /* over every queue round */
  uint64_t qid;
  uint64_t enq_ms;
  const char *last_ep;              /* endpoint of the attempt before this one */
  /* QCC_DL_MAX_TRIED records, allocated at the first failed attempt: 2 KiB
   * that most exchanges (one good attempt) never need. */
  struct tried_rec {
    uint32_t idx;                   /* table index */
    char ep[64];
    uint16_t status;
    char reason[64];
  } *hist;
  size_t hist_n;
  /* usage of a /v1/messages exchange (runtime/proxy_usage.c): copied, since
   * a cancelled exchange outlives its request */
  struct px_usage {
    bool on;                        /* a /v1/messages POST, and someone wants usage */
    bool answered;                  /* an upstream's head reached the client */
    bool recorded;
    struct qcc_usagecap cap;
    uint64_t endpoint_sid;
    uint32_t endpoint_idx;          /* in x->req->gen's table (pricing) */
    char request_id[24];
    char endpoint[64];
    char profile[64];
    char model[128];
    char upstream_model[128];
    char client[64];
    char session[QCC_USAGE_MAX_SESSION + 1];
    struct qcc_usage_tokens tokens; /* set when recorded */
    int64_t cost;                   /* likewise: pico-USD, QCC_USAGE_NO_PRICE */
  } *usage;
  struct qcc_exchange_try *tries;    /* x->hist as the result's tried list */                          /* allocated for /v1/messages only */
};

/* ---- proxy.c --------------------------------------------------------- */

uint64_t px_now_us(void);
uint64_t px_now_ms(void);
/* Length of TARGET's path: logs leave out the query string. */
int px_path_len(const char *target);
void px_set_error(struct qcc_exchange *x, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Start an attempt to PRE (a pick already made), or pick one first when
 * NULL: 0 = started, 1 = no endpoint (x->res holds the answer, or x waits
 * in the queue), -1 = out of memory. */
int px_attempt_start(struct qcc_exchange *x, const struct qcc_select_out *pre);
/* Start (or finish) X from the loop, never from inside the caller's call. */
void px_defer(struct qcc_exchange *x, bool start);
/* The end: one done(), then X is gone. From the loop only. */
void px_complete(struct qcc_exchange *x);

/* ---- proxy_queue.c --------------------------------------------------- */

/* The failure queue may take X (on, not stopping, nothing sent yet). */
bool px_queue_on(const struct qcc_exchange *x);
/* Nothing (more) to try: 0 when X waits in the queue, 1 when x->res holds
 * the answer and the exchange must end. SEL->pick says why. */
/* runtime/proxy_usage.c */
/* The body's facts, scanned at first need (usage needs the requested model). */
const struct qcc_jsonscan_facts *px_facts(struct qcc_exchange *x);
void px_usage_start(struct qcc_exchange *x);
void px_usage_head(struct qcc_exchange *x, const struct attempt *a, bool sse, bool json);
void px_usage_end(struct qcc_exchange *x, bool partial);
/* x->res.tried from the endpoints that failed before (for the access log). */
void px_result_tried(struct qcc_exchange *x);
/* Body bytes to the client, through the usage capture. */
int px_body(struct qcc_exchange *x, const char *p, size_t len);

int px_no_endpoint(struct qcc_exchange *x, const struct qcc_select_out *sel);
/* X leaves the queue and its in-flight slot, whatever its end. */
void px_leave(struct qcc_exchange *x, bool answered);
void px_limit_release(struct qcc_exchange *x);
int px_limit_admit(struct qcc_exchange *x);
uint32_t px_request_priority(const struct qcc_request *r);
/* Re-arm the queue's and the limit's timer (p->qtimer, px_qtimer_cb). */
void px_qtimer_arm(struct qcc_proxy *p);
void px_qtimer_cb(struct ev_loop *loop, ev_timer *w, int revents);

#endif
