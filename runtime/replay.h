/* Replays of dead letters (`qccc queue retry ID | retry-all`): the stored
 * request is sent again through the current routing as an internal
 * exchange (never queued, outside the in-flight limit); a sink captures the
 * response (bounded) and it is kept beside the dead letter
 * (qcc_deadletters_set_replay). Loop thread only. */
#ifndef QCC_RUNTIME_REPLAY_H
#define QCC_RUNTIME_REPLAY_H

#include "schema/error.h"

struct qcc_proxy;
struct qcc_tableset;
struct qcc_deadletters;

#define QCC_REPLAY_MAX_RESPONSE (64u * 1024u) /* bytes of the answer kept */

/* DONE(ARG, status, detail) is called exactly once, later, from the loop:
 * status 0 when nothing could be sent. -1 with err (DONE not called) when
 * the dead letter is unknown or its body was not kept. Replays still in
 * flight when the proxy is freed end without DONE. */
int qcc_replay_start(struct qcc_proxy *p, struct qcc_tableset *tables, struct qcc_deadletters *dl,
                     const char *id, void (*done)(void *arg, int status, const char *detail),
                     void *arg, struct qcc_err *err);

#endif
