/* The request one attempt sends upstream: the endpoint's URL for the
 * client's path, the client's headers minus what must not go (headers.c)
 * plus the endpoint's credential, the body (model-mapped for the endpoint),
 * and the libcurl options of the transfer. Built per attempt, since each
 * endpoint has its own URL, key and model map. The credential line is wiped
 * when the request is cleared. */
#ifndef QCC_RUNTIME_UPREQ_H
#define QCC_RUNTIME_UPREQ_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exchange.h"
#include "modelmap.h"

struct qcc_table;
struct qcc_tbl_endpoint;
struct qcc_jsonscan_facts;

/* A model-mapped body at least this large is spliced, not copied; a smaller
 * one is copied so curl can send it in the same write as the head. */
#define QCC_UPREQ_SPLICE_MIN (64 * 1024)

struct qcc_upreq {
  char *url;
  struct curl_slist *hdrs;      /* one block: nodes, then their lines */
  struct curl_slist *auth_node; /* the credential's line, wiped by clear */
  char *mapped;                 /* model-rewritten body, or NULL */
  const char *body;             /* what is sent: R's body or MAPPED */
  size_t body_len;              /* what is sent (with SPLICE: the rewritten length) */
  bool has_body;                /* not GET/HEAD */
  /* A large body's model rewrite, read in place by curl (no copy of the
   * body): when SPLICE.n > 0, BODY is R's and BODY_LEN the rewritten size. */
  struct qcc_modelmap_splice splice;
  const char *orig;             /* R's body, ORIG_LEN bytes */
  size_t orig_len;
  size_t read_pos;              /* curl's position in the rewritten body */
};

/* Where the transfer's response goes. */
struct qcc_upreq_io {
  curl_write_callback on_header, on_body; /* CURLOPT_HEADERFUNCTION / WRITEFUNCTION */
  void *ud;                               /* their user data */
  char *errbuf;                           /* CURL_ERROR_SIZE bytes: curl's own words */
  uint32_t connect_ms;                    /* TCP + TLS (and DNS) */
};

/* Build U (zeroed) for R to endpoint EP of table T with KEY ("" = none).
 * FACTS are R's body facts (jsonscan), read when EP maps models. 0, or -1
 * when out of memory (U is then cleared). */
int qcc_upreq_build(struct qcc_upreq *u, const struct qcc_request *r, const struct qcc_table *t,
                    const struct qcc_tbl_endpoint *ep, const char *key,
                    const struct qcc_jsonscan_facts *facts);

/* Set the transfer's options on E (a fresh or reset easy handle) for
 * METHOD. U and IO->errbuf must outlive the transfer (curl reads a spliced
 * body through U). 0, or -1. */
int qcc_upreq_configure(struct qcc_upreq *u, CURL *e, const char *method,
                        const struct qcc_upreq_io *io);

/* Wipe the credential and free everything (U is zeroed). */
void qcc_upreq_clear(struct qcc_upreq *u);

#endif
