/* The loaded config: what the load and resolve phases produce and the layout
 * phase consumes. Plain data, all strings owned by the config (freed by
 * qcc_config_free). Every item keeps the source position of its YAML node so
 * that semantic checks after loading still point at FILE:LINE:COL. */
#ifndef QCC_COMPILER_CONFIG_H
#define QCC_COMPILER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/config_keys.h"
#include "schema/enums.h"

/* A place in a source file; file points into qcc_config.files (owned there). */
struct qcc_pos {
  const char *file;
  uint32_t line; /* 1-based; 0 = unknown */
  uint32_t col;  /* 1-based */
};

struct qcc_pair {
  char *key;
  char *value;
  struct qcc_pos pos;
};

struct qcc_keysrc {
  enum qcc_key_kind kind; /* QCC_KEY_NONE when the endpoint has no key */
  char *value;            /* env name, file path or literal key */
  struct qcc_pos pos;
};

struct qcc_endpoint_cfg {
  char *id;
  char *from; /* endpoint id this one reuses base_url + key from, or NULL */
  char *base_url;
  struct qcc_keysrc key;
  enum qcc_auth_style auth;
  uint32_t weight, priority, max_failures, timeout_ms, rate_limit, max_concurrency;
  /* 0 until resolve fills in the upstream.* value (every minimum is > 0) */
  uint32_t connect_timeout_ms, request_timeout_ms, stream_idle_timeout_ms;
  uint32_t keep_warm_ms; /* 0 is a value (off): given or not is in set_mask */
  char *ca_file;               /* own, else tls.ca_file after resolve, else NULL */
  char *proxy;                 /* forward proxy URL, or NULL */
  char *proxy_credentials_env; /* env variable holding user:password, or NULL */
  bool enabled, allow_insecure;
  uint32_t price_multiplier; /* parts per million */
  uint64_t budget_daily_usd, budget_monthly_usd, budget_daily_tokens; /* 0 = none; USD in millionths */
  struct qcc_pair *models; /* model name mapping, in source order */
  size_t model_count;
  struct qcc_pair *metadata; /* scalar metadata, in source order */
  size_t metadata_count;
  struct qcc_pos pos, base_url_pos, from_pos, proxy_pos, proxy_cred_pos;
  /* bit i set = field i given explicitly (for `from:` inheritance) */
  uint32_t set_mask;
};

struct qcc_profile_cfg {
  char *name;
  char *description;
  enum qcc_group group;
  bool enabled;
  bool lb_override; /* load_balancing given on the profile */
  enum qcc_lb_strategy lb_strategy;
  bool health_aware, sticky_session;
  struct qcc_endpoint_cfg *endpoints;
  size_t endpoint_count;
  struct qcc_pos pos, group_pos;
};

struct qcc_token_cfg {
  char *name;
  struct qcc_keysrc key;
  uint32_t priority;
  uint64_t budget_daily_usd, budget_monthly_usd, budget_daily_tokens; /* 0 = none; USD in millionths */
  struct qcc_pos pos;
};

/* One `pricing:` entry; rates in micro-USD per million tokens. */
struct qcc_price_cfg {
  char *model; /* the key: exact name or glob */
  uint64_t input, output, cache_write_5m, cache_write_1h, cache_read;
  uint8_t priced; /* bit (1 << enum qcc_price_kind) set = that kind was given */
  struct qcc_pos pos;
};

struct qcc_settings {
  /* proxy */
  char *host;
  uint16_t port;
  bool ssl_enabled;
  char *tls_cert, *tls_key;
  enum qcc_log_level log_level;
  bool access_log;
  uint32_t max_connections, max_header_bytes;
  uint64_t max_body_bytes;
  uint32_t header_timeout_ms, idle_timeout_ms, drain_timeout_ms;
  enum qcc_fsync_policy journal_fsync;
  /* health */
  bool health_enabled;
  enum qcc_check_kind health_check;
  uint32_t check_interval_ms, health_timeout_ms, retry_count;
  bool alert_enabled;
  uint32_t alert_threshold;
  /* queue */
  bool queue_enabled;
  uint32_t queue_max_size;
  enum qcc_retry_strategy retry_strategy;
  uint32_t max_retries, max_wait_ms;
  bool persistence_enabled;
  /* loadbalancer */
  enum qcc_lb_strategy lb_strategy;
  bool health_aware, sticky_session;
  /* switching_policy */
  bool auto_switch, auto_recovery, fallback_enabled;
  uint32_t switch_threshold, cooldown_ms;
  /* upstream: defaults of the endpoints' timeouts */
  uint32_t upstream_connect_timeout_ms, upstream_timeout_ms, upstream_request_timeout_ms,
      upstream_stream_idle_timeout_ms;
  uint32_t upstream_keep_warm_ms, upstream_keep_warm_for_ms; /* the warmer; 0 = off */
  /* tls */
  char *tls_ca_file, *tls_ca_path;
  /* alerts */
  char *alerts_exec, *alerts_webhook;
  uint32_t alerts_timeout_ms;
  /* usage */
  char *usage_timezone;
  uint64_t usage_detail_retention_ms, usage_retention_ms;
};

struct qcc_config {
  uint32_t version;
  struct qcc_settings settings;
  struct qcc_profile_cfg *profiles; /* in source order, includes appended */
  size_t profile_count;
  struct qcc_token_cfg *tokens;
  size_t token_count;
  struct qcc_price_cfg *prices; /* in source order */
  size_t price_count;
  char **files; /* every file read (root first), owned; qcc_pos.file points here */
  size_t file_count;
};

void qcc_config_free(struct qcc_config **cfg);

/* Where each row of schema/config_keys.h keeps its value in the structs
 * above (its FIELD column; the table member has the same name). Indexed by
 * enum qcc_knob_id; rec == QCC_REC_NONE for rows without a field. Strings are
 * char * (NULL = not set), booleans bool, the rest unsigned of `size` bytes. */
struct qcc_cfg_field {
  uint8_t rec; /* enum qcc_rec */
  uint32_t offset, size;
  uint8_t kind; /* enum qcc_knob_kind */
};
extern const struct qcc_cfg_field qcc_cfg_fields[QCC_KNOB_COUNT];

/* Read and write the field of row K in REC, the record of the row's kind
 * (&cfg->settings, or one profile / endpoint / token / price). */
uint64_t qcc_cfg_num(const void *rec, enum qcc_knob_id k);
void qcc_cfg_set_num(void *rec, enum qcc_knob_id k, uint64_t v);
const char *qcc_cfg_str(const void *rec, enum qcc_knob_id k);
/* Replaces (and frees) the string; V NULL unsets it. */
void qcc_cfg_set_str(void *rec, enum qcc_knob_id k, const char *v);

#endif
