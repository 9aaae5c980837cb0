/* runtime/curlloop.c: transfers on kept-alive, closed and reopened
 * connections, with the watcher of a pooled socket kept between them. A
 * real HTTP/1.1 server on loopback (a thread) and a real libev loop. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/curlloop.h"

/* Answers "ok" to each request, 2 ms late; closes the connection after CLOSE_EVERY
 * answers (0 = never) and counts the connections it accepted. */
struct server {
  int lfd, port, close_every;
  int accepted;
  pthread_t th;
};

static void *serve(void *arg) {
  struct server *sv = arg;
  for (;;) {
    int c = accept(sv->lfd, NULL, NULL);
    if (c < 0) return NULL;
    __atomic_add_fetch(&sv->accepted, 1, __ATOMIC_SEQ_CST);
    char buf[8192];
    size_t have = 0;
    int answered = 0;
    for (;;) {
      ssize_t n = recv(c, buf + have, sizeof buf - have - 1, 0);
      if (n <= 0) break;
      have += (size_t)n;
      buf[have] = '\0';
      char *end;
      while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
        static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        usleep(2000); /* curl waits on the loop, not inside one call */
        if (send(c, ans, sizeof ans - 1, MSG_NOSIGNAL) < 0) break;
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, have - used + 1);
        have -= used;
        answered++;
      }
      if (sv->close_every > 0 && answered >= sv->close_every) break;
    }
    close(c);
  }
}

static void server_start(struct server *sv, int close_every) {
  memset(sv, 0, sizeof *sv);
  sv->close_every = close_every;
  sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(sv->lfd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(bind(sv->lfd, (struct sockaddr *)&a, sizeof a) == 0);
  cr_assert(listen(sv->lfd, 16) == 0);
  socklen_t al = sizeof a;
  cr_assert(getsockname(sv->lfd, (struct sockaddr *)&a, &al) == 0);
  sv->port = ntohs(a.sin_port);
  cr_assert(pthread_create(&sv->th, NULL, serve, sv) == 0);
}

static void server_stop(struct server *sv) {
  shutdown(sv->lfd, SHUT_RDWR);
  close(sv->lfd);
  pthread_join(sv->th, NULL);
}

struct xfer {
  struct qcc_curl_job job;
  CURLcode rc;
  bool done;
  char body[16];
  size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  struct xfer *x = ud;
  size_t k = sz * n;
  if (x->len + k < sizeof x->body) {
    memcpy(x->body + x->len, p, k);
    x->len += k;
  }
  return k;
}

static void on_done(struct qcc_curl_job *job, CURL *easy, CURLcode rc) {
  (void)easy;
  struct xfer *x = job->arg;
  x->rc = rc;
  x->done = true;
}

/* One GET through the loop, bounded by a 5 s ev_timer. */
static void get(struct ev_loop *loop, struct qcc_curlloop *cl, CURL *e, int port,
                struct xfer *x) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
  memset(x, 0, sizeof *x);
  x->job.done = on_done;
  x->job.arg = x;
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  cr_assert(qcc_curlloop_add(cl, e, &x->job) == 0);
  qcc_curlloop_kick(cl);
  for (int i = 0; i < 5000 && !x->done; i++) ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), usleep(1000);
  cr_assert(x->done, "transfer finished");
  qcc_curlloop_remove(cl, e);
}

/* 30 GETs through one loop and one easy handle to a server closing after
 * every CLOSE_EVERY answers (0 = never); each answered "ok". After request i,
 * when LET_CLOSE and i is odd, the loop runs a few turns (a close arrives
 * while the socket is parked and the loop sees it); otherwise it does not,
 * so curl finds a closed pooled connection dead itself, closes it and most
 * likely gets the same descriptor number for the next socket. Returns the
 * parked watchers taken back into use; *ACCEPTED the server's connections. */
static size_t thirty_requests(int close_every, bool let_close, int *accepted) {
  struct server sv;
  server_start(&sv, close_every);
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct qcc_curlloop *cl = NULL;
  struct qcc_err err = {0};
  cr_assert(qcc_curlloop_new(loop, NULL, NULL, &cl, &err) == 0);
  CURL *e = curl_easy_init();
  for (int i = 0; i < 30; i++) {
    struct xfer x;
    get(loop, cl, e, sv.port, &x);
    cr_expect_eq(x.rc, CURLE_OK, "request %d: %d", i, x.rc);
    cr_expect(x.len == 2 && memcmp(x.body, "ok", 2) == 0, "request %d answered", i);
    if (let_close && i % 2)
      for (int k = 0; k < 5; k++) ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), usleep(1000);
    else if (let_close)
      usleep(5000);
  }
  size_t unparked = qcc_curlloop_unparked(cl);
  curl_easy_cleanup(e);
  qcc_curlloop_free(&cl);
  ev_loop_destroy(loop);
  server_stop(&sv);
  *accepted = __atomic_load_n(&sv.accepted, __ATOMIC_SEQ_CST);
  return unparked;
}

Test(upstream_curlloop, kept_alive_connection_keeps_its_watcher) {
  int accepted = 0;
  size_t unparked = thirty_requests(0, false, &accepted);
  cr_expect_eq(accepted, 1, "one connection for all");
  cr_expect_geq(unparked, 25, "the pooled socket's watcher was reused (%zu)", unparked);
}

/* The server closes after every second answer: a watcher kept for a closed
 * socket must never be trusted for the next socket with that number (the
 * transfer would never finish). */
Test(upstream_curlloop, closed_and_reopened_connections_are_watched) {
  int accepted = 0;
  (void)thirty_requests(2, true, &accepted);
  cr_expect_geq(accepted, 15, "a connection per two answers (%d)", accepted);
}
