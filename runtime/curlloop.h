/* A libcurl multi handle driven by a libev loop (curl's multi_socket API):
 * one ev_io per socket curl hands us (its state attached with
 * curl_multi_assign), one replaceable ev_timer for curl's timeout, and a
 * completion callback per easy handle. The upstream proxy (proxy.c) and the
 * health checker (prober.c) each own one.
 *
 * A transfer is added with a struct qcc_curl_job the caller embeds in its
 * own per-transfer state; the job becomes the easy handle's CURLOPT_PRIVATE,
 * so callers must not set CURLOPT_PRIVATE themselves. Completions are
 * delivered after curl_multi_socket_action has returned (never from inside
 * curl), then the AFTER hook runs once; a completion may remove, free or
 * re-add easy handles.
 *
 * A socket's watcher outlives curl's CURL_POLL_REMOVE while its connection
 * waits in curl's pool (curl reports its close, see curlloop.c), so the next
 * transfer on a kept-alive connection adds no epoll_ctl. */
#ifndef QCC_RUNTIME_CURLLOOP_H
#define QCC_RUNTIME_CURLLOOP_H

#include <stdbool.h>
#include <curl/curl.h>

#include "schema/error.h"

struct ev_loop;
struct qcc_curlloop;

struct qcc_curl_job {
  /* The transfer ended with RC (CURLE_OK or an error). Called once per add;
   * not called for a handle removed before it finished. */
  void (*done)(struct qcc_curl_job *job, CURL *easy, CURLcode rc);
  void *arg; /* the caller's, e.g. the struct the job is embedded in */
};

/* AFTER (may be NULL) runs after every batch of socket/timer activity and its
 * completions, with CTX. Calls curl_global_init (and free the cleanup). */
int qcc_curlloop_new(struct ev_loop *loop, void (*after)(void *ctx), void *ctx,
                     struct qcc_curlloop **out, struct qcc_err *err);
/* Removes nothing: the caller removes and frees its easy handles first. */
void qcc_curlloop_free(struct qcc_curlloop **cl);

/* For curl_multi_setopt (connection cache, multiplexing). */
CURLM *qcc_curlloop_multi(struct qcc_curlloop *cl);
/* Start EASY; JOB->done is called when it ends. -1 when curl refuses it. */
int qcc_curlloop_add(struct qcc_curlloop *cl, CURL *easy, struct qcc_curl_job *job);
/* Stop EASY if it was added (no completion follows). Not from inside one of
 * EASY's own curl callbacks (check qcc_curlloop_busy). */
void qcc_curlloop_remove(struct qcc_curlloop *cl, CURL *easy);
/* Let curl act on its timeouts now (start newly added transfers), then
 * deliver completions and run AFTER, as the loop would. Not from inside curl. */
void qcc_curlloop_kick(struct qcc_curlloop *cl);
/* True while curl is running (inside curl_multi_socket_action): curl
 * callbacks run then, and handles must not be removed from them. */
bool qcc_curlloop_busy(const struct qcc_curlloop *cl);
/* How many times a pooled connection's kept watcher was taken back into use. */
size_t qcc_curlloop_unparked(const struct qcc_curlloop *cl);

#endif
