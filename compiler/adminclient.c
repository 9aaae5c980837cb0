#include "adminclient.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "schema/statedir.h"

int qcc_admin_socket_path(const char *state_dir_flag, char *out, size_t cap, struct qcc_err *err) {
  char dir[4096];
  if (qcc_statedir_resolve(state_dir_flag, dir, sizeof dir, err) != 0) return -1;
  return qcc_statedir_path(dir, "admin.sock", out, cap, err);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int not_running(const char *path, struct qcc_err *err) {
  return qcc_err_set(err, QCC_ADMIN_NOT_RUNNING,
                     "qcc-run is not running at %s: start it with `qccc start`", path);
}

/* Wait for EVENTS on FD until DEADLINE; -1 with err on timeout. */
static int wait_fd(int fd, short events, int64_t deadline, const char *path,
                   struct qcc_err *err) {
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0)
      return qcc_err_set(err, ETIMEDOUT, "qcc-run at %s did not answer in time", path);
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR)
      return qcc_err_set(err, errno, "poll: %s", strerror(errno));
  }
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline, const char *path,
                    struct qcc_err *err) {
  size_t off = 0;
  while (off < len) {
    ssize_t k = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) {
      off += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd(fd, POLLOUT, deadline, path, err) != 0) return -1;
      continue;
    }
    /* The server may answer early (413) and close: read what it said. */
    if (k < 0 && (errno == EPIPE || errno == ECONNRESET)) return 1;
    return qcc_err_set(err, errno, "cannot send to qcc-run at %s: %s", path, strerror(errno));
  }
  return 0;
}

/* "HTTP/1.1 200 OK\r\nA: b\r\n\r\nBODY" -> status, body. */
static int parse_reply(char *buf, size_t len, struct qcc_admin_reply *r, const char *path,
                       struct qcc_err *err) {
  int status = 0;
  if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || sscanf(buf + 9, "%3d", &status) != 1 ||
      status < 100 || status > 599)
    return qcc_err_set(err, QCC_ADMIN_BAD_REPLY, "%s answered something that is not HTTP", path);
  char *end = strstr(buf, "\r\n\r\n");
  if (end == NULL)
    return qcc_err_set(err, QCC_ADMIN_BAD_REPLY, "%s sent a reply without a complete head", path);
  size_t head_len = (size_t)(end - buf) + 4;
  size_t body_len = len - head_len;
  /* Check Content-Length when present: a short body is a cut reply. */
  for (char *line = strstr(buf, "\r\n"); line != NULL && line < end;
       line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "content-length:", 15) == 0) {
      unsigned long long cl = strtoull(line + 17, NULL, 10);
      if (cl != body_len)
        return qcc_err_set(err, QCC_ADMIN_BAD_REPLY,
                           "%s sent %zu body bytes but announced %llu", path, body_len, cl);
    }
  }
  r->status = status;
  r->len = body_len;
  r->body = malloc(body_len + 1);
  if (r->body == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  memcpy(r->body, buf + head_len, body_len);
  r->body[body_len] = '\0';
  json_error_t je;
  r->json = json_loadb(r->body, body_len, 0, &je);
  return 0;
}

int qcc_admin_call(const char *socket_path, const char *method, const char *path,
                   const char *body, int timeout_ms, struct qcc_admin_reply *reply,
                   struct qcc_err *err) {
  *reply = (struct qcc_admin_reply){0};
  int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t pl = strlen(socket_path);
  if (pl >= sizeof sa.sun_path)
    return qcc_err_set(err, ENAMETOOLONG, "admin socket path too long: %s", socket_path);
  memcpy(sa.sun_path, socket_path, pl + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return qcc_err_set(err, errno, "socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR) return not_running(socket_path, err);
    if (e == EACCES || e == EPERM)
      return qcc_err_set(err, e,
                         "cannot connect to %s: permission denied (qcc-run runs as another user?)",
                         socket_path);
    return qcc_err_set(err, e, "cannot connect to %s: %s", socket_path, strerror(e));
  }
  size_t blen = body != NULL ? strlen(body) : 0;
  char head[1024];
  int hn = snprintf(head, sizeof head,
                    "%s %s HTTP/1.1\r\nHost: qcc-run\r\nUser-Agent: qccc\r\n"
                    "Accept: application/json\r\nConnection: close\r\n%s"
                    "Content-Length: %zu\r\n\r\n",
                    method, path, body != NULL ? "Content-Type: application/json\r\n" : "", blen);
  if (hn < 0 || (size_t)hn >= sizeof head) {
    close(fd);
    return qcc_err_set(err, EINVAL, "request path too long");
  }
  int sent = send_all(fd, head, (size_t)hn, deadline, socket_path, err);
  if (sent == 0) sent = send_all(fd, body != NULL ? body : "", blen, deadline, socket_path, err);
  if (sent < 0) {
    close(fd);
    return -1;
  }
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    close(fd);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  int rc = 0;
  for (;;) {
    if (len + 1 >= cap) {
      if (cap >= QCC_ADMINCLIENT_MAX_REPLY) {
        rc = qcc_err_set(err, QCC_ADMIN_BAD_REPLY, "reply from %s is larger than %u bytes",
                         socket_path, QCC_ADMINCLIENT_MAX_REPLY);
        break;
      }
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        rc = qcc_err_set(err, ENOMEM, "out of memory");
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t k = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
    if (k > 0) {
      len += (size_t)k;
      continue;
    }
    if (k == 0) break;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET && len > 0) break; /* the reply is complete or parse says not */
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      rc = wait_fd(fd, POLLIN, deadline, socket_path, err);
      if (rc != 0) break;
      continue;
    }
    rc = qcc_err_set(err, errno, "cannot read from %s: %s", socket_path, strerror(errno));
    break;
  }
  close(fd);
  if (rc == 0) {
    buf[len] = '\0';
    rc = parse_reply(buf, len, reply, socket_path, err);
  }
  free(buf);
  if (rc != 0) qcc_admin_reply_free(reply);
  return rc;
}

void qcc_admin_reply_free(struct qcc_admin_reply *r) {
  if (r == NULL) return;
  free(r->body);
  json_decref(r->json);
  *r = (struct qcc_admin_reply){0};
}

const char *qcc_admin_reply_error_text(const struct qcc_admin_reply *r) {
  const char *m = json_string_value(json_object_get(r->json, "error"));
  if (m != NULL) return m;
  return r->status >= 400 ? "qcc-run refused the request" : "unexpected reply";
}
