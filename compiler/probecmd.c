/* `qccc endpoint test`, direct from qccc (probecmd.h). */
#include "compiler/probecmd.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler/config.h"
#include "compiler/diag.h"
#include "compiler/frontend.h"
#include "schema/enums.h"
#include "schema/keyref.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define BODY_MAX (4u << 20)

static void wipe_free(char *s, size_t len) {
  if (s == NULL) return;
  explicit_bzero(s, len);
  free(s);
}

char *qccc_key_resolve(int kind, const char *value, char *why, unsigned long why_cap) {
  char *key = NULL;
  size_t len = 0;
  int rc = qcc_keyref_resolve(kind, value, &key, &len, why, why_cap);
  if (rc < 0) snprintf(why, why_cap, "out of memory");
  return rc == 0 ? key : NULL;
}

struct body {
  char *data;
  size_t len;
  bool too_big;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *arg) {
  struct body *b = arg;
  size_t n = sz * nm;
  if (b->len + n > BODY_MAX) {
    b->too_big = true;
    return n; /* keep reading; the verdict does not need the rest */
  }
  char *d = realloc(b->data, b->len + n + 1);
  if (d == NULL) return 0;
  memcpy(d + b->len, p, n);
  b->data = d;
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* Cut TEXT where KEY appears (an upstream may echo it back). */
static void redact(char *text, const char *key) {
  size_t kl = strlen(key);
  if (kl < 4) return;
  for (char *p = strstr(text, key); p != NULL; p = strstr(p, key)) {
    memset(p, '*', kl);
    p += kl;
  }
}

struct opts {
  const char *config, *id, *profile; /* PROFILE ID: the seed plan's spelling */
  bool verbose, json;
  long timeout_s;
};

static int parse(int argc, char **argv, struct opts *o) {
  o->timeout_s = 15;
  const char *env = getenv("QCC_CONFIG");
  o->config = env != NULL && env[0] ? env : "qcc.yaml";
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      o->verbose = true;
    } else if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--timeout") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "qccc endpoint test: %s needs a value\n", a);
        return EXIT_USAGE;
      }
      val = argv[++i];
    } else if (strncmp(a, "--config=", 9) == 0 || strncmp(a, "--timeout=", 10) == 0) {
      val = strchr(a, '=') + 1;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "qccc endpoint test: unknown option %s\n", a);
      return EXIT_USAGE;
    } else if (o->id == NULL) {
      o->id = a;
      continue;
    } else if (o->profile == NULL) {
      o->profile = o->id;
      o->id = a;
      continue;
    } else {
      fprintf(stderr, "qccc endpoint test: too many arguments: %s\n  hint: qccc endpoint test ID\n", a);
      return EXIT_USAGE;
    }
    if (val == NULL) continue;
    if (a[1] == 'c' || strncmp(a, "--config", 8) == 0) {
      o->config = val;
    } else {
      char *end = NULL;
      o->timeout_s = strtol(val, &end, 10);
      if (end == val || *end != '\0' || o->timeout_s < 1 || o->timeout_s > 600) {
        fprintf(stderr, "qccc endpoint test: --timeout needs seconds from 1 to 600, not \"%s\"\n", val);
        return EXIT_USAGE;
      }
    }
  }
  if (o->id == NULL) {
    fprintf(stderr, "qccc endpoint test: which endpoint?\n  usage: qccc endpoint test ID [-c FILE] [--verbose] [--json]\n");
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

static const struct qcc_endpoint_cfg *find_ep(const struct qcc_config *cfg, const char *id,
                                              const struct qcc_profile_cfg **prof) {
  for (size_t i = 0; i < cfg->profile_count; i++)
    for (size_t k = 0; k < cfg->profiles[i].endpoint_count; k++)
      if (strcmp(cfg->profiles[i].endpoints[k].id, id) == 0) {
        *prof = &cfg->profiles[i];
        return &cfg->profiles[i].endpoints[k];
      }
  return NULL;
}

struct result {
  bool ok;
  long status;
  long latency_ms;
  long models; /* -1 when the body is not a model list */
  char error[512];
  json_t *model_names; /* first few */
};

static void read_body(const struct body *b, const char *key, struct result *r) {
  r->models = -1;
  r->model_names = json_array();
  if (b->data == NULL || b->too_big) return;
  json_t *j = json_loadb(b->data, b->len, 0, NULL);
  if (j == NULL) {
    if (!r->ok && r->error[0] == '\0') {
      snprintf(r->error, sizeof r->error, "%.200s", b->data);
      for (char *p = r->error; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
    }
    return;
  }
  const json_t *data = json_object_get(j, "data");
  if (json_is_array(data)) {
    r->models = (long)json_array_size(data);
    size_t i;
    const json_t *m;
    json_array_foreach(data, i, m) {
      if (i >= 10) break;
      const char *id = json_string_value(json_object_get(m, "id"));
      if (id != NULL) json_array_append_new(r->model_names, json_string(id));
    }
  }
  const json_t *e = json_object_get(j, "error");
  const char *msg = json_string_value(json_object_get(e, "message"));
  const char *type = json_string_value(json_object_get(e, "type"));
  if (msg == NULL) msg = json_string_value(e);
  if (!r->ok && msg != NULL)
    snprintf(r->error, sizeof r->error, "%s%s%.300s", type != NULL ? type : "", type != NULL ? ": " : "", msg);
  json_decref(j);
  redact(r->error, key);
}

static int run_probe(const struct qcc_config *cfg, const struct qcc_endpoint_cfg *ep, const char *key,
                     const struct opts *o, struct result *r, char *url, size_t url_cap) {
  snprintf(url, url_cap, "%s/v1/models", ep->base_url);
  size_t ul = strlen(ep->base_url);
  if (ul > 0 && ep->base_url[ul - 1] == '/') snprintf(url, url_cap, "%sv1/models", ep->base_url);
  CURL *e = curl_easy_init();
  if (e == NULL) {
    snprintf(r->error, sizeof r->error, "cannot start libcurl");
    return -1;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  struct body b = {0};
  struct curl_slist *h = curl_slist_append(NULL, "anthropic-version: 2023-06-01");
  char line[1024] = "";
  if (key[0] != '\0') {
    if (ep->auth == QCC_AUTH_BEARER) snprintf(line, sizeof line, "Authorization: Bearer %s", key);
    else snprintf(line, sizeof line, "x-api-key: %s", key);
    struct curl_slist *n = curl_slist_append(h, line);
    explicit_bzero(line, sizeof line);
    if (n != NULL) h = n;
  }
  char proxy_cred[512] = "";
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_s * 1000L);
  long ct = ep->connect_timeout_ms > 0 ? (long)ep->connect_timeout_ms : 10000L;
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ct < o->timeout_s * 1000L ? ct : o->timeout_s * 1000L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  if (ep->ca_file != NULL) curl_easy_setopt(e, CURLOPT_CAINFO, ep->ca_file);
  if (cfg->settings.tls_ca_path != NULL) curl_easy_setopt(e, CURLOPT_CAPATH, cfg->settings.tls_ca_path);
  /* The config's proxy or none: never one from the environment, as qcc-run. */
  curl_easy_setopt(e, CURLOPT_PROXY, ep->proxy != NULL ? ep->proxy : "");
  if (ep->proxy != NULL && ep->proxy_credentials_env != NULL) {
    const char *pc = getenv(ep->proxy_credentials_env);
    if (pc != NULL) {
      snprintf(proxy_cred, sizeof proxy_cred, "%s", pc);
      curl_easy_setopt(e, CURLOPT_PROXYUSERPWD, proxy_cred);
    }
  }
  CURLcode cc = curl_easy_perform(e);
  double total = 0;
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &total);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  r->latency_ms = (long)(total * 1000.0 + 0.5);
  if (cc != CURLE_OK) {
    snprintf(r->error, sizeof r->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    r->status = 0;
  }
  r->ok = cc == CURLE_OK && r->status >= 200 && r->status <= 299;
  if (cc == CURLE_OK) read_body(&b, key, r);
  else r->model_names = json_array();
  redact(r->error, key);
  explicit_bzero(proxy_cred, sizeof proxy_cred);
  curl_slist_free_all(h); /* holds the key line: curl copies, the slist is ours */
  curl_easy_cleanup(e);
  free(b.data);
  return 0;
}

static const char *key_source(const struct qcc_endpoint_cfg *ep, char *buf, size_t cap) {
  switch (ep->key.kind) {
  case QCC_KEY_ENV: snprintf(buf, cap, "env:%s", ep->key.value); break;
  case QCC_KEY_FILE: snprintf(buf, cap, "file:%s", ep->key.value); break;
  case QCC_KEY_LITERAL: snprintf(buf, cap, "literal:<redacted>"); break;
  default: snprintf(buf, cap, "none"); break;
  }
  return buf;
}

int qccc_cmd_endpoint_test(int argc, char **argv) {
  struct opts o = {0};
  int rc = parse(argc, argv, &o);
  if (rc != EXIT_OK) return rc;
  struct qcc_diags *d = qcc_diags_new();
  struct qcc_config *cfg = NULL;
  struct qcc_frontend_opts fo = {0};
  bool io = false;
  if (d == NULL) return EXIT_USAGE;
  if (qcc_frontend_run(o.config, &fo, &cfg, d, &io) != 0) {
    qcc_diags_print(d, QCC_DIAG_TEXT, stderr);
    qcc_diags_free(&d);
    fprintf(stderr, "qccc endpoint test: %s does not load (above)\n", o.config);
    return EXIT_USAGE;
  }
  qcc_diags_free(&d);
  const struct qcc_profile_cfg *prof = NULL;
  const struct qcc_endpoint_cfg *ep = find_ep(cfg, o.id, &prof);
  if (ep != NULL && o.profile != NULL && strcmp(prof->name, o.profile) != 0) {
    fprintf(stderr, "qccc endpoint test: endpoint '%s' is in profile '%s', not '%s'\n", o.id, prof->name, o.profile);
    qcc_config_free(&cfg);
    return EXIT_USAGE;
  }
  if (ep == NULL) {
    fprintf(stderr, "qccc endpoint test: no endpoint '%s' in %s\n  hint: `qccc endpoint list -c %s`\n", o.id,
            o.config, o.config);
    qcc_config_free(&cfg);
    return EXIT_USAGE;
  }
  char why[512] = "", src[4200];
  struct result r = {0};
  char url[4200];
  char *key = qccc_key_resolve((int)ep->key.kind, ep->key.value, why, sizeof why);
  key_source(ep, src, sizeof src);
  if (key == NULL) {
    snprintf(r.error, sizeof r.error, "no key: %s", why);
    snprintf(url, sizeof url, "%s/v1/models", ep->base_url);
    r.model_names = json_array();
    r.models = -1;
  } else {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    run_probe(cfg, ep, key, &o, &r, url, sizeof url);
    curl_global_cleanup();
    wipe_free(key, strlen(key));
  }
  if (o.json) {
    json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:i,s:i}", "id", ep->id, "profile", prof->name, "url", url, "ok",
                          r.ok, "status", (int)r.status, "latency_ms", (int)r.latency_ms);
    json_object_set_new(j, "models", r.models >= 0 ? json_integer(r.models) : json_null());
    json_object_set(j, "model_ids", r.model_names);
    json_object_set_new(j, "error", r.error[0] ? json_string(r.error) : json_null());
    json_object_set_new(j, "key", json_string(src));
    json_object_set_new(j, "ca_file", ep->ca_file ? json_string(ep->ca_file) : json_null());
    json_object_set_new(j, "proxy", ep->proxy ? json_string(ep->proxy) : json_null());
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL) printf("%s\n", s);
    free(s);
    json_decref(j);
  } else {
    if (r.ok) {
      printf("%s: ok, HTTP %ld in %ld ms", ep->id, r.status, r.latency_ms);
      if (r.models >= 0) printf(", %ld model%s", r.models, r.models == 1 ? "" : "s");
      printf("\n");
    } else if (key == NULL) {
      printf("%s: FAILED, %s (qcc-run would not use it either)\n", ep->id, r.error);
    } else if (r.status == 0) {
      printf("%s: FAILED, no answer after %ld ms: %s\n", ep->id, r.latency_ms, r.error);
    } else {
      printf("%s: FAILED, HTTP %ld in %ld ms%s%s\n", ep->id, r.status, r.latency_ms, r.error[0] ? ": " : "",
             r.error);
    }
    if (o.verbose) {
      printf("  profile  %s\n  url      %s\n  key      %s (%s)\n", prof->name, url, src,
             ep->auth == QCC_AUTH_BEARER ? "Authorization: Bearer" : "x-api-key");
      printf("  tls      %s%s%s\n", ep->ca_file ? "CAs from " : "system CAs", ep->ca_file ? ep->ca_file : "",
             cfg->settings.tls_ca_path ? " + tls.ca_path" : "");
      printf("  proxy    %s\n", ep->proxy ? ep->proxy : "none");
      if (json_array_size(r.model_names) > 0) {
        printf("  models  ");
        size_t i;
        const json_t *m;
        json_array_foreach(r.model_names, i, m) printf(" %s", json_string_value(m));
        printf("%s\n", r.models > (long)json_array_size(r.model_names) ? " ..." : "");
      }
    }
  }
  json_decref(r.model_names);
  qcc_config_free(&cfg);
  return r.ok ? EXIT_OK : EXIT_FAIL;
}
