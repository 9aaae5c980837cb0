#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "schema/config_schema.h"
#include "schema/zone.h"

struct named {
  const char *name;
  size_t seq;
  struct qcc_pos pos;
};

static int named_cmp(const void *a, const void *b) {
  const struct named *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0) return c;
  return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/* Report every repeat of a name after its first definition. Sorting keeps
 * this O(n log n) for configs with 10,000 endpoints. */
static void duplicates(struct named *v, size_t n, const char *what, const char *scope,
                       struct qcc_diags *d) {
  if (n > 1) qsort(v, n, sizeof *v, named_cmp);
  for (size_t i = 1; i < n; i++) {
    size_t first = i - 1;
    while (first > 0 && strcmp(v[first - 1].name, v[i].name) == 0) first--;
    if (strcmp(v[first].name, v[i].name) != 0) continue;
    char hint[512];
    snprintf(hint, sizeof hint, "first defined at %s:%u:%u; %s", v[first].pos.file,
             v[first].pos.line, v[first].pos.col, scope);
    qcc_diag_add(d, QCC_DIAG_ERROR, v[i].pos, (unsigned)strlen(v[i].name), hint,
                 "duplicate %s '%s'", what, v[i].name);
  }
}

static void unique_names(const struct qcc_config *cfg, struct qcc_diags *d) {
  size_t total = 0, n = 0;
  for (size_t i = 0; i < cfg->profile_count; i++) total += cfg->profiles[i].endpoint_count;
  struct named *v = calloc((total > cfg->profile_count ? total : cfg->profile_count) + 1,
                           sizeof *v);
  if (v == NULL) abort();
  for (size_t i = 0; i < cfg->profile_count; i++) {
    const struct qcc_profile_cfg *p = &cfg->profiles[i];
    if (p->name == NULL) continue;
    v[n++] = (struct named){p->name, i, p->pos};
  }
  duplicates(v, n, "profile name", "profile names must be unique", d);
  n = 0;
  for (size_t i = 0; i < cfg->profile_count; i++) {
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count; j++) {
      const struct qcc_endpoint_cfg *e = &cfg->profiles[i].endpoints[j];
      if (e->id == NULL) continue;
      v[n] = (struct named){e->id, n, e->pos};
      n++;
    }
  }
  duplicates(v, n, "endpoint id", "ids are unique across the whole config", d);
  free(v);
}

/* ---- base_url -------------------------------------------------------------- */

struct url {
  bool https;
  char host[256];
  const char *error; /* NULL when the URL is usable */
};

static void parse_url(const char *u, struct url *out) {
  memset(out, 0, sizeof *out);
  const char *rest;
  if (strncasecmp(u, "https://", 8) == 0) {
    out->https = true;
    rest = u + 8;
  } else if (strncasecmp(u, "http://", 7) == 0) {
    rest = u + 7;
  } else {
    out->error = "scheme";
    return;
  }
  size_t alen = strcspn(rest, "/?#");
  if (memchr(rest, '@', alen) != NULL) {
    out->error = "credentials";
    return;
  }
  const char *host = rest, *port = NULL;
  size_t hlen;
  if (alen > 0 && rest[0] == '[') {
    const char *close = memchr(rest, ']', alen);
    if (close == NULL) {
      out->error = "host";
      return;
    }
    host = rest + 1;
    hlen = (size_t)(close - host);
    if ((size_t)(close + 1 - rest) < alen) {
      if (close[1] != ':') {
        out->error = "host";
        return;
      }
      port = close + 2;
    }
  } else {
    const char *colon = memchr(rest, ':', alen);
    hlen = colon != NULL ? (size_t)(colon - rest) : alen;
    if (colon != NULL) port = colon + 1;
  }
  if (hlen == 0 || hlen >= sizeof out->host) {
    out->error = "host";
    return;
  }
  memcpy(out->host, host, hlen);
  out->host[hlen] = '\0';
  if (port != NULL) {
    size_t plen = (size_t)(rest + alen - port);
    unsigned long v = 0;
    bool ok = plen > 0 && plen <= 5;
    for (size_t i = 0; ok && i < plen; i++) {
      ok = port[i] >= '0' && port[i] <= '9';
      v = v * 10 + (unsigned long)(port[i] - '0');
    }
    if (!ok || v == 0 || v > 65535) out->error = "port";
  }
}

static bool is_loopback(const char *host) {
  if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0) return true;
  if (strncmp(host, "127.", 4) != 0) return false;
  for (const char *p = host + 4; *p != '\0'; p++) {
    if ((*p < '0' || *p > '9') && *p != '.') return false;
  }
  return true;
}

static const char *ep_name(const struct qcc_endpoint_cfg *e) {
  return e->id != NULL ? e->id : "?";
}

static void check_url(const struct qcc_endpoint_cfg *e, struct qcc_diags *d) {
  struct url u;
  bool own = (e->set_mask & QCC_EP_SET_BASE_URL) != 0;
  if (e->base_url == NULL) return;
  parse_url(e->base_url, &u);
  unsigned span = own ? (unsigned)strlen(e->base_url) : (unsigned)strlen(e->from);
  if (u.error != NULL) {
    if (!own) return; /* reported at the endpoint it comes from */
    if (strcmp(u.error, "credentials") == 0) {
      /* Never echo it: the user:password part is a secret. */
      qcc_diag_add(d, QCC_DIAG_ERROR, e->base_url_pos, span,
                   "put the key in api_key_env or api_key_file",
                   "base_url of endpoint '%s' must not contain user:password@", ep_name(e));
    } else if (strcmp(u.error, "scheme") == 0) {
      qcc_diag_add(d, QCC_DIAG_ERROR, e->base_url_pos, span,
                   "write it as https://host[:port][/path]",
                   "base_url '%s' is not an http:// or https:// URL", e->base_url);
    } else if (strcmp(u.error, "port") == 0) {
      qcc_diag_add(d, QCC_DIAG_ERROR, e->base_url_pos, span, "a port is from 1 to 65535",
                   "base_url '%s' has a bad port", e->base_url);
    } else {
      qcc_diag_add(d, QCC_DIAG_ERROR, e->base_url_pos, span,
                   "write it as https://host[:port][/path]", "base_url '%s' has no host",
                   e->base_url);
    }
    return;
  }
  if (!u.https && !is_loopback(u.host) && !e->allow_insecure) {
    char hint[256], via[300] = "";
    snprintf(hint, sizeof hint,
             "use https://, or set 'allow_insecure: true' on endpoint '%s' if the network "
             "is trusted",
             ep_name(e));
    if (!own) snprintf(via, sizeof via, " (base_url from '%s')", e->from);
    qcc_diag_add(d, QCC_DIAG_ERROR, e->base_url_pos, span, hint,
                 "plain http to '%s'%s, which is not loopback: keys would cross the network "
                 "unencrypted",
                 u.host, via);
  }
}

/* ---- keys --------------------------------------------------------------------- */

static void check_secret(const struct qcc_keysrc *k, const char *what, const char *name,
                         unsigned span, struct qcc_diags *d) {
  if (k->kind == QCC_KEY_ENV) {
    const char *v = getenv(k->value);
    if (v == NULL || v[0] == '\0') {
      qcc_diag_add(d, QCC_DIAG_ERROR, k->pos, span,
                   "export it before running qcc-run, or drop --check-secrets",
                   "environment variable '%s' of %s '%s' is %s", k->value, what, name,
                   v == NULL ? "not set" : "empty");
    }
  } else if (k->kind == QCC_KEY_FILE) {
    if (access(k->value, R_OK) != 0) {
      int e = errno;
      qcc_diag_add(d, QCC_DIAG_ERROR, k->pos, span,
                   "the path is used as written, relative to where qcc-run starts",
                   "key file '%s' of %s '%s' is not readable: %s", k->value, what, name,
                   strerror(e));
    }
  }
}

/* ---- proxy, proxy_credentials_env, alerts.webhook ---------------------------- */

static bool env_name_ok(const char *s) {
  if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9')) return false;
  for (const char *p = s; *p != '\0'; p++) {
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '_'))
      return false;
  }
  return true;
}

static void check_proxy(const struct qcc_endpoint_cfg *e, struct qcc_diags *d) {
  if (e->proxy_credentials_env != NULL && !env_name_ok(e->proxy_credentials_env)) {
    /* Never echo it: it may be the user:password itself. */
    qcc_diag_add(d, QCC_DIAG_ERROR, e->proxy_cred_pos,
                 (unsigned)strlen(e->proxy_credentials_env),
                 "give the NAME of an environment variable that holds user:password",
                 "proxy_credentials_env of endpoint '%s' is not an environment variable name",
                 ep_name(e));
  }
  if (e->proxy == NULL) return;
  static const char *const schemes[] = {"http://", "https://", "socks5://", "socks5h://"};
  const char *rest = NULL;
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0] && rest == NULL; i++) {
    size_t n = strlen(schemes[i]);
    if (strncasecmp(e->proxy, schemes[i], n) == 0) rest = e->proxy + n;
  }
  unsigned span = (unsigned)strlen(e->proxy);
  if (rest == NULL) {
    qcc_diag_add(d, QCC_DIAG_ERROR, e->proxy_pos, span,
                 "write it as http://, https://, socks5:// or socks5h://host:port",
                 "proxy of endpoint '%s' has an unsupported scheme", ep_name(e));
    return;
  }
  size_t alen = strcspn(rest, "/?#");
  if (memchr(rest, '@', alen) != NULL) {
    /* Never echo the URL: the user:password part is a secret. */
    qcc_diag_add(d, QCC_DIAG_ERROR, e->proxy_pos, span,
                 "drop user:password@ from the URL and name an environment variable holding "
                 "user:password in proxy_credentials_env",
                 "proxy of endpoint '%s' must not contain credentials", ep_name(e));
    return;
  }
  if (alen == 0 || rest[0] == ':') {
    qcc_diag_add(d, QCC_DIAG_ERROR, e->proxy_pos, span, "write it as scheme://host:port",
                 "proxy '%s' of endpoint '%s' has no host", e->proxy, ep_name(e));
  }
}

static void check_alerts(const struct qcc_loaded *l, struct qcc_diags *d) {
  const char *w = l->cfg->settings.alerts_webhook;
  if (w == NULL) return;
  struct url u;
  parse_url(w, &u);
  if (u.error == NULL) return;
  struct qcc_pos at = l->setting_pos[QCC_K_ALERTS_WEBHOOK];
  if (strcmp(u.error, "credentials") == 0) {
    qcc_diag_add(d, QCC_DIAG_ERROR, at, 7,
                 "chat webhooks carry their token in the path, never as user:password@",
                 "alerts.webhook must not contain user:password@");
  } else {
    qcc_diag_add(d, QCC_DIAG_ERROR, at, 7,
                 "write it as https://host[:port]/path", "alerts.webhook is not a usable "
                 "http:// or https:// URL (%s)", u.error);
  }
}

static void check_usage(const struct qcc_loaded *l, struct qcc_diags *d) {
  const struct qcc_settings *s = &l->cfg->settings;
  if (s->usage_timezone != NULL && !qcc_zone_known(s->usage_timezone)) {
    qcc_diag_add(d, QCC_DIAG_ERROR, l->setting_pos[QCC_K_USAGE_TIMEZONE], 8 /* timezone */,
                 "write an IANA zone like Asia/Shanghai, Europe/Berlin or UTC (see "
                 "/usr/share/zoneinfo), or local",
                 "unknown time zone '%s'", s->usage_timezone);
  }
  if (s->usage_retention_ms < s->usage_detail_retention_ms) {
    struct qcc_pos at = l->setting_pos[QCC_K_USAGE_RETENTION];
    if (at.line == 0) at = l->setting_pos[QCC_K_USAGE_DETAIL_RETENTION];
    char ret[32], det[32];
    qcc_format_duration(s->usage_retention_ms, ret, sizeof ret);
    qcc_format_duration(s->usage_detail_retention_ms, det, sizeof det);
    qcc_diag_add(d, QCC_DIAG_ERROR, at, 9 /* retention */,
                 "rollups are made from the detail records: raise retention or lower "
                 "detail_retention",
                 "usage.retention (%s) is shorter than usage.detail_retention (%s)", ret, det);
  }
}

static void check_endpoint(const struct qcc_endpoint_cfg *e, const struct qcc_frontend_opts *o,
                           struct qcc_diags *d) {
  bool has_from = (e->set_mask & QCC_EP_SET_FROM) != 0;
  bool own_key = (e->set_mask & QCC_EP_SET_KEY) != 0;
  if ((e->set_mask & QCC_EP_SET_BASE_URL) == 0 && !has_from) {
    qcc_diag_add(d, QCC_DIAG_ERROR, e->pos, (unsigned)strlen(ep_name(e)),
                 "add 'base_url: https://...', or 'from: ID' to reuse another endpoint's",
                 "endpoint '%s' has no base_url", ep_name(e));
  }
  check_url(e, d);
  check_proxy(e, d);
  if (!own_key && !has_from) {
    qcc_diag_add(d, QCC_DIAG_ERROR, e->pos, (unsigned)strlen(ep_name(e)),
                 "add 'api_key_env: VARIABLE' (or api_key_file: PATH)",
                 "endpoint '%s' has no key source", ep_name(e));
  }
  if (own_key && e->key.kind == QCC_KEY_LITERAL) {
    qcc_diag_add(d, QCC_DIAG_WARNING, e->key.pos, 7,
                 "use api_key_env or api_key_file, so the table and the config hold no secret",
                 "endpoint '%s' has a literal api_key", ep_name(e));
  }
  if (o->check_secrets && own_key) {
    check_secret(&e->key, "endpoint", ep_name(e), e->key.kind == QCC_KEY_FILE ? 12 : 11, d);
  }
}

static void check_tokens(const struct qcc_config *cfg, const struct qcc_frontend_opts *o,
                         struct qcc_diags *d) {
  for (size_t i = 0; i < cfg->token_count; i++) {
    const struct qcc_token_cfg *t = &cfg->tokens[i];
    char name[300];
    if (t->name != NULL) snprintf(name, sizeof name, "%s", t->name);
    else snprintf(name, sizeof name, "#%zu", i + 1);
    if (t->key.kind == QCC_KEY_NONE) {
      qcc_diag_add(d, QCC_DIAG_ERROR, t->pos, 1, "add 'env: VARIABLE' (or file: PATH)",
                   "auth token '%s' has no source", name);
    } else if (t->key.kind == QCC_KEY_LITERAL) {
      qcc_diag_add(d, QCC_DIAG_WARNING, t->key.pos, 5,
                   "use env or file, so the table and the config hold no secret",
                   "auth token '%s' has a literal value", name);
    }
    if (o->check_secrets) {
      check_secret(&t->key, "auth token", name, t->key.kind == QCC_KEY_FILE ? 4 : 3, d);
    }
  }
}

/* The proxy needs somewhere to send traffic when everything is healthy. */
static void check_primary(const struct qcc_config *cfg, struct qcc_diags *d) {
  const struct qcc_profile_cfg *first = NULL;
  for (size_t i = 0; i < cfg->profile_count; i++) {
    const struct qcc_profile_cfg *p = &cfg->profiles[i];
    if (!p->enabled || p->group != QCC_GROUP_PRIMARY) continue;
    if (first == NULL) first = p;
    for (size_t j = 0; j < p->endpoint_count; j++) {
      if (p->endpoints[j].enabled) return;
    }
  }
  if (first != NULL) {
    char hint[320];
    snprintf(hint, sizeof hint, "enable an endpoint of primary profile '%s'",
             first->name != NULL ? first->name : "?");
    qcc_diag_add(d, QCC_DIAG_ERROR, first->pos,
                 first->name != NULL ? (unsigned)strlen(first->name) : 1, hint,
                 "no enabled endpoint in the primary group");
  } else {
    struct qcc_pos at = {cfg->file_count > 0 ? cfg->files[0] : NULL, 1, 1};
    qcc_diag_add(d, QCC_DIAG_ERROR, at, 1,
                 "give an enabled profile 'priority: primary' (the default) and an enabled "
                 "endpoint",
                 "no enabled endpoint in the primary group");
  }
}

/* Listener settings that qcc-run would refuse at start: say so now. */
static void check_listener(const struct qcc_loaded *l, struct qcc_diags *d) {
  const struct qcc_settings *s = &l->cfg->settings;
  const struct qcc_pos *at = l->setting_pos;
  if (s->ssl_enabled && (s->tls_cert == NULL || s->tls_key == NULL)) {
    qcc_diag_add(d, QCC_DIAG_ERROR, at[QCC_K_PROXY_SSL], 11,
                 "add proxy.cert and proxy.key (PEM files), or set ssl_enabled: false",
                 "ssl_enabled needs both cert and key");
  }
  /* qcc-run reads them at every load, from / once it runs as a daemon */
  if (s->tls_cert != NULL && s->tls_cert[0] != '/')
    qcc_diag_add(d, QCC_DIAG_ERROR, at[QCC_K_PROXY_CERT], 4, "give an absolute path",
                 "proxy.cert '%s' is relative", s->tls_cert);
  if (s->tls_key != NULL && s->tls_key[0] != '/')
    qcc_diag_add(d, QCC_DIAG_ERROR, at[QCC_K_PROXY_KEY], 3, "give an absolute path",
                 "proxy.key '%s' is relative", s->tls_key);
  if (!is_loopback(s->host) && l->cfg->token_count == 0) {
    qcc_diag_add(d, QCC_DIAG_WARNING, at[QCC_K_PROXY_HOST], 4,
                 "add proxy.auth_tokens, or listen on 127.0.0.1",
                 "host '%s' is not loopback and there are no auth_tokens: qcc-run will "
                 "refuse to start",
                 s->host);
  }
}

int qcc_check(const struct qcc_loaded *l, const struct qcc_frontend_opts *opts,
              struct qcc_diags *d) {
  static const struct qcc_frontend_opts defaults = {false, false};
  if (l == NULL || l->cfg == NULL) return -1;
  if (opts == NULL) opts = &defaults;
  const struct qcc_config *cfg = l->cfg;
  size_t before = qcc_diags_errors(d);
  unique_names(cfg, d);
  for (size_t i = 0; i < cfg->profile_count; i++) {
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count; j++) {
      check_endpoint(&cfg->profiles[i].endpoints[j], opts, d);
    }
  }
  check_tokens(cfg, opts, d);
  check_listener(l, d);
  check_alerts(l, d);
  check_usage(l, d);
  check_primary(cfg, d);
  return qcc_diags_errors(d) == before ? 0 : -1;
}
