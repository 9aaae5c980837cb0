/* The ONE table of qcc.yaml keys ("knobs"). Validation, defaults, the JSON
 * Schema (schema/qcc.schema.json) and docs/config-reference.md are all
 * generated from it, so they cannot disagree.
 *
 * X(ID, PATH, KIND, ENUM, MIN, MAX, DEFAULT, UNIT, FLAGS, FIELD, HELP)
 *   PATH     dotted key path; "[]" marks the items of a list; also the name
 *            `qccc show` prints and `qccc config get` takes
 *   KIND     QCC_KNOB_* below
 *   ENUM     qcc_enum_desc for QCC_KNOB_ENUM, else NULL
 *   MIN/MAX  range in base units (ms for durations, bytes for sizes,
 *            characters for strings, millionths for decimals); unused for
 *            compound kinds
 *   DEFAULT  default as a user would write it (parsed by the same code as
 *            the YAML), "=PATH" when it is the value of setting PATH (the
 *            compiler resolves it into the table), or NULL when there is none
 *   UNIT     unit of the stored value ("ms", "bytes", ...), "" if none
 *   FLAGS    QCC_KF_* below
 *   FIELD    where the value lives: QCC_FS(m) member m of the settings
 *            record, QCC_FE(m) of an endpoint, QCC_FP(m) of a profile,
 *            QCC_FT(m) of an auth token, QCC_FPR(m) of a `pricing:`
 *            entry; the member has the same name in
 *            the compiler's config (compiler/config.h) and in the table
 *            (schema/table.h). QCC_FNONE: no field of its own (sections,
 *            lists, keys handled by hand). The loader's defaults and
 *            stores, the table layout and verification, the digest and
 *            `qccc show` all walk these rows; a new scalar setting is its
 *            row, its table.h member (and docs/table-format.md line), and
 *            the code that uses it.
 * Only append or insert; IDs are not stored anywhere. */
#ifndef QCC_SCHEMA_CONFIG_KEYS_H
#define QCC_SCHEMA_CONFIG_KEYS_H

#include <stdint.h>

enum qcc_knob_kind {
  QCC_KNOB_BOOL,
  QCC_KNOB_INT,
  QCC_KNOB_DURATION,  /* "500ms" "30s" "5m" "1h" or integer seconds -> ms */
  QCC_KNOB_SIZE,      /* integer bytes or "64KiB" "32MiB" "1MB" -> bytes */
  QCC_KNOB_STRING,
  QCC_KNOB_ENUM,
  QCC_KNOB_DECIMAL,   /* "3", "0.5", "3.75": up to 6 decimals, stored in millionths */
  QCC_KNOB_SECTION,   /* mapping with the keys listed below it */
  QCC_KNOB_LIST,      /* list of mappings with the keys listed below PATH[] */
  QCC_KNOB_STRLIST,   /* list of strings */
  QCC_KNOB_STRMAP,    /* free mapping string -> string */
  QCC_KNOB_SCALARMAP, /* free mapping string -> scalar; listed children typed */
  QCC_KNOB_DICT,      /* free mapping name -> mapping with the keys listed below PATH{} */
};

enum {
  QCC_KF_REQUIRED = 1 << 0, /* must be present in its mapping */
  QCC_KF_SECRET = 1 << 1,   /* value is never echoed in a message */
  QCC_KF_URL_TOKEN = 1 << 2, /* a URL whose path may hold a token (chat webhooks):
                                qccc show prints scheme://host/<redacted> */
  QCC_KF_OFF = 1 << 3,       /* a duration whose 0 means off: "off" (and false) read as 0 */
};

/* Which record a row's FIELD is in. */
enum qcc_rec {
  QCC_REC_NONE,
  QCC_REC_SETTINGS,
  QCC_REC_PROFILE,
  QCC_REC_ENDPOINT,
  QCC_REC_TOKEN,
  QCC_REC_PRICE, /* one `pricing:` entry (1.2) */
};
#define QCC_REC_COUNT (QCC_REC_PRICE + 1)

#define QCC_MS_SEC ((uint64_t)1000)
#define QCC_MS_MIN ((uint64_t)60000)
#define QCC_MS_HOUR ((uint64_t)3600000)
#define QCC_KIB ((uint64_t)1024)
#define QCC_MIB ((uint64_t)1048576)
#define QCC_GIB ((uint64_t)1073741824)
#define QCC_MS_DAY ((uint64_t)86400000)
#define QCC_DEC_ONE ((uint64_t)1000000) /* a decimal's 1.0 */
#define QCC_PRICE_MAX (1000000 * QCC_DEC_ONE) /* USD/MTok; keeps cost sums in 64 bits */
#define QCC_BUDGET_USD_MAX (1000000 * QCC_DEC_ONE)

#define QCC_KNOBS(X) \
  X(VERSION, "version", QCC_KNOB_INT, NULL, 1, 1, NULL, "", QCC_KF_REQUIRED, QCC_FNONE, \
    "Config format version; must be 1 (optional in included files).") \
  X(INCLUDE, "include", QCC_KNOB_STRLIST, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Other config files to read, relative to this file; their profiles are appended.") \
  X(PROXY, "proxy", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "The local listener that clients such as Claude Code talk to.") \
  X(PROXY_HOST, "proxy.host", QCC_KNOB_STRING, NULL, 1, 255, "127.0.0.1", "", 0, QCC_FS(host), \
    "Address to listen on; anything but loopback needs auth_tokens.") \
  X(PROXY_PORT, "proxy.port", QCC_KNOB_INT, NULL, 1, 65535, "7860", "", 0, QCC_FS(port), \
    "TCP port to listen on.") \
  X(PROXY_SSL, "proxy.ssl_enabled", QCC_KNOB_BOOL, NULL, 0, 1, "false", "", 0, \
    QCC_FS(ssl_enabled), "Serve TLS on the listener (needs cert and key).") \
  X(PROXY_CERT, "proxy.cert", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, QCC_FS(tls_cert), \
    "PEM certificate file for ssl_enabled.") \
  X(PROXY_KEY, "proxy.key", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, QCC_FS(tls_key), \
    "PEM private key file for ssl_enabled.") \
  X(PROXY_LOG_LEVEL, "proxy.log_level", QCC_KNOB_ENUM, &qcc_log_desc, 0, 0, "info", "", 0, \
    QCC_FS(log_level), "Log verbosity (case-insensitive).") \
  X(PROXY_ACCESS_LOG, "proxy.access_log", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(access_log), "Write one access-log line per request.") \
  X(PROXY_MAX_CONN, "proxy.max_connections", QCC_KNOB_INT, NULL, 1, 1000000, "1000", "", 0, \
    QCC_FS(max_connections), "Most client connections open at once.") \
  X(PROXY_MAX_BODY, "proxy.max_body_size", QCC_KNOB_SIZE, NULL, QCC_KIB, QCC_GIB, "32MiB", \
    "bytes", 0, QCC_FS(max_body_bytes), "Largest request body accepted (larger gets 413).") \
  X(PROXY_MAX_HEADER, "proxy.max_header_size", QCC_KNOB_SIZE, NULL, QCC_KIB, QCC_MIB, "64KiB", \
    "bytes", 0, QCC_FS(max_header_bytes), "Largest request head accepted (larger gets 431).") \
  X(PROXY_HEADER_TIMEOUT, "proxy.header_timeout", QCC_KNOB_DURATION, NULL, 100, QCC_MS_HOUR, \
    "10s", "ms", 0, QCC_FS(header_timeout_ms), "Time a client has to send its request head.") \
  X(PROXY_IDLE_TIMEOUT, "proxy.idle_timeout", QCC_KNOB_DURATION, NULL, QCC_MS_SEC, \
    24 * QCC_MS_HOUR, "120s", "ms", 0, QCC_FS(idle_timeout_ms), \
    "Idle keep-alive connections are closed after this.") \
  X(PROXY_DRAIN_TIMEOUT, "proxy.drain_timeout", QCC_KNOB_DURATION, NULL, 0, QCC_MS_HOUR, "30s", \
    "ms", 0, QCC_FS(drain_timeout_ms), \
    "On SIGTERM, time given to in-flight requests before exit; 0 = none, they are cut at once.") \
  X(TOKENS, "proxy.auth_tokens", QCC_KNOB_LIST, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Client tokens accepted by the listener; each has exactly one of env, file, value.") \
  X(TOKEN_NAME, "proxy.auth_tokens[].name", QCC_KNOB_STRING, NULL, 1, 255, NULL, "", 0, \
    QCC_FT(name), "Label for logs.") \
  X(TOKEN_ENV, "proxy.auth_tokens[].env", QCC_KNOB_STRING, NULL, 1, 255, NULL, "", 0, QCC_FNONE, \
    "Environment variable holding the token.") \
  X(TOKEN_FILE, "proxy.auth_tokens[].file", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, \
    QCC_FNONE, "File holding the token.") \
  X(TOKEN_VALUE, "proxy.auth_tokens[].value", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", \
    QCC_KF_SECRET, QCC_FNONE, "The token itself (warning; an error under --strict).") \
  X(TOKEN_PRIORITY, "proxy.auth_tokens[].priority", QCC_KNOB_INT, NULL, 0, 1000000, "0", "", 0, \
    QCC_FT(priority), "Queue priority of requests made with this token (higher first).") \
  X(TOKEN_BUDGET, "proxy.auth_tokens[].budget", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, \
    QCC_FNONE, "Spending cap of this client; over it, its requests get 429 until the period ends.") \
  X(TOKEN_BUDGET_DAILY_USD, "proxy.auth_tokens[].budget.daily_usd", QCC_KNOB_DECIMAL, NULL, 1, \
    QCC_BUDGET_USD_MAX, NULL, "USD", 0, QCC_FT(budget_daily_usd), \
    "USD per day (in usage.timezone); not set = no cap.") \
  X(TOKEN_BUDGET_MONTHLY_USD, "proxy.auth_tokens[].budget.monthly_usd", QCC_KNOB_DECIMAL, NULL, \
    1, QCC_BUDGET_USD_MAX, NULL, "USD", 0, QCC_FT(budget_monthly_usd), \
    "USD per calendar month; not set = no cap.") \
  X(TOKEN_BUDGET_DAILY_TOKENS, "proxy.auth_tokens[].budget.daily_tokens", QCC_KNOB_INT, NULL, 1, \
    UINT64_C(1000000000000000), NULL, "tokens", 0, QCC_FT(budget_daily_tokens), \
    "Tokens of every kind per day; not set = no cap.") \
  X(HEALTH, "health", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Active health checks of every endpoint.") \
  X(HEALTH_ENABLED, "health.enabled", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(health_enabled), "Run active health checks.") \
  X(HEALTH_INTERVAL, "health.check_interval", QCC_KNOB_DURATION, NULL, QCC_MS_SEC, \
    24 * QCC_MS_HOUR, "60s", "ms", 0, QCC_FS(check_interval_ms), \
    "Time between two checks of one endpoint.") \
  X(HEALTH_TIMEOUT, "health.timeout", QCC_KNOB_DURATION, NULL, 100, 10 * QCC_MS_MIN, "10s", "ms", \
    0, QCC_FS(health_timeout_ms), "Time one check may take.") \
  X(HEALTH_RETRY, "health.retry_count", QCC_KNOB_INT, NULL, 0, 100, "3", "", 0, \
    QCC_FS(retry_count), "Retries of a failed check before it counts as failed.") \
  X(HEALTH_CHECK, "health.check", QCC_KNOB_ENUM, &qcc_check_desc, 0, 0, "models", "", 0, \
    QCC_FS(health_check), \
    "What a check does: TCP/TLS connect, GET /v1/models, count_tokens, or a 1-token message.") \
  X(HEALTH_ALERT, "health.alert_enabled", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(alert_enabled), "Log an alert when an endpoint keeps failing.") \
  X(HEALTH_ALERT_THRESHOLD, "health.alert_threshold", QCC_KNOB_INT, NULL, 1, 1000, "3", "", 0, \
    QCC_FS(alert_threshold), "Consecutive failed checks before an alert.") \
  X(QUEUE, "queue", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Requests wait here when every endpoint fails.") \
  X(QUEUE_ENABLED, "queue.enabled", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(queue_enabled), "Queue requests instead of failing them at once.") \
  X(QUEUE_MAX_SIZE, "queue.max_size", QCC_KNOB_INT, NULL, 0, 1000000, "1000", "", 0, \
    QCC_FS(queue_max_size), "Most requests waiting at once.") \
  X(QUEUE_RETRY, "queue.retry_strategy", QCC_KNOB_ENUM, &qcc_retry_desc, 0, 0, \
    "exponential_backoff", "", 0, QCC_FS(retry_strategy), "How queued requests are retried.") \
  X(QUEUE_MAX_RETRIES, "queue.max_retries", QCC_KNOB_INT, NULL, 0, 100, "5", "", 0, \
    QCC_FS(max_retries), "Retries of a queued request before it becomes a dead letter.") \
  X(QUEUE_MAX_WAIT, "queue.max_wait", QCC_KNOB_DURATION, NULL, 0, 24 * QCC_MS_HOUR, "120s", "ms", \
    0, QCC_FS(max_wait_ms), "Longest time a request waits in the queue.") \
  X(QUEUE_PERSIST, "queue.persistence_enabled", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(persistence_enabled), "Keep dead-letter bodies on disk (mode 0600).") \
  X(LB, "loadbalancer", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Default balancing inside the active group.") \
  X(LB_STRATEGY, "loadbalancer.strategy", QCC_KNOB_ENUM, &qcc_lb_desc, 0, 0, "weighted", "", 0, \
    QCC_FS(lb_strategy), \
    "weighted, round_robin (or round-robin), least_connections or failover.") \
  X(LB_HEALTH_AWARE, "loadbalancer.health_aware", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(health_aware), "Skip endpoints that are unhealthy.") \
  X(LB_STICKY, "loadbalancer.sticky_session", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(sticky_session), \
    "Keep one session on one endpoint (X-Claude-Code-Session-Id, else metadata.user_id): its " \
    "prompt cache stays warm. Requests without a session use the strategy.") \
  X(SWITCH, "switching_policy", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Failover between primary, secondary and fallback groups.") \
  X(SWITCH_AUTO, "switching_policy.auto_switch", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(auto_switch), "Fail over automatically when a group has no available endpoint.") \
  X(SWITCH_RECOVERY, "switching_policy.auto_recovery", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FS(auto_recovery), "Switch back to primary once it is healthy for the cooldown.") \
  X(SWITCH_THRESHOLD, "switching_policy.switch_threshold", QCC_KNOB_INT, NULL, 1, 1000, "3", "", \
    0, QCC_FS(switch_threshold), "Consecutive failures that make a group unavailable.") \
  X(SWITCH_COOLDOWN, "switching_policy.cooldown_period", QCC_KNOB_DURATION, NULL, 0, \
    24 * QCC_MS_HOUR, "300s", "ms", 0, QCC_FS(cooldown_ms), \
    "Time between switches; also the recovery delay.") \
  X(SWITCH_FALLBACK, "switching_policy.fallback_enabled", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", \
    0, QCC_FS(fallback_enabled), "Use the fallback group when secondary fails too.") \
  X(JOURNAL, "journal", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "The runtime's append-only state journal.") \
  X(JOURNAL_FSYNC, "journal.fsync", QCC_KNOB_ENUM, &qcc_fsync_desc, 0, 0, "everysec", "", 0, \
    QCC_FS(journal_fsync), "When the journal is fsynced: everysec, always or no.") \
  X(UPSTREAM, "upstream", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Timeouts of requests to upstreams, and warm connections; each endpoint may override " \
    "them.") \
  X(UPSTREAM_CONNECT_TIMEOUT, "upstream.connect_timeout", QCC_KNOB_DURATION, NULL, 100, \
    10 * QCC_MS_MIN, "5s", "ms", 0, QCC_FS(upstream_connect_timeout_ms), \
    "Time to open the TCP connection and finish the TLS handshake.") \
  X(UPSTREAM_TIMEOUT, "upstream.timeout", QCC_KNOB_DURATION, NULL, 100, QCC_MS_HOUR, "30s", "ms", \
    0, QCC_FS(upstream_timeout_ms), \
    "Streamed request: time from the request sent to the first byte of the response body.") \
  X(UPSTREAM_REQUEST_TIMEOUT, "upstream.request_timeout", QCC_KNOB_DURATION, NULL, QCC_MS_SEC, \
    24 * QCC_MS_HOUR, "10m", "ms", 0, QCC_FS(upstream_request_timeout_ms), \
    "Non-streamed request: time for the whole exchange.") \
  X(UPSTREAM_STREAM_IDLE_TIMEOUT, "upstream.stream_idle_timeout", QCC_KNOB_DURATION, NULL, \
    QCC_MS_SEC, 24 * QCC_MS_HOUR, "90s", "ms", 0, QCC_FS(upstream_stream_idle_timeout_ms), \
    "Longest silence inside a streamed response.") \
  X(UPSTREAM_KEEP_WARM, "upstream.keep_warm", QCC_KNOB_DURATION, NULL, 0, QCC_MS_HOUR, "25s", \
    "ms", QCC_KF_OFF, QCC_FS(upstream_keep_warm_ms), \
    "Keep a connection to each upstream ready: after this long without a request, a keyless " \
    "GET /v1/models keeps it open; 0 or off = never. Keep it under the upstream's idle " \
    "timeout and under 118s.") \
  X(UPSTREAM_KEEP_WARM_FOR, "upstream.keep_warm_for", QCC_KNOB_DURATION, NULL, 0, \
    24 * QCC_MS_HOUR, "30m", "ms", 0, QCC_FS(upstream_keep_warm_for_ms), \
    "Stop keeping connections warm this long after the last forwarded request.") \
  X(TLS, "tls", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Certificate authorities trusted for upstream TLS (default: the system's).") \
  X(TLS_CA_FILE, "tls.ca_file", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, QCC_FS(tls_ca_file), \
    "PEM bundle of trusted CAs, used as written (relative to where qcc-run starts).") \
  X(TLS_CA_PATH, "tls.ca_path", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, QCC_FS(tls_ca_path), \
    "Directory of hashed CA certificates (c_rehash), used as written.") \
  X(ALERTS, "alerts", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Hooks run on alerts (endpoint unhealthy, profile switch, everything down).") \
  X(ALERTS_EXEC, "alerts.exec", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, QCC_FS(alerts_exec), \
    "Shell command run with the alert event as JSON on stdin.") \
  X(ALERTS_WEBHOOK, "alerts.webhook", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", QCC_KF_URL_TOKEN, \
    QCC_FS(alerts_webhook), "http(s) URL that receives the alert event as a JSON POST; " \
    "qccc show hides its path.") \
  X(ALERTS_TIMEOUT, "alerts.timeout", QCC_KNOB_DURATION, NULL, QCC_MS_SEC, 10 * QCC_MS_MIN, \
    "10s", "ms", 0, QCC_FS(alerts_timeout_ms), "Longest time one exec or webhook call may take.") \
  X(USAGE, "usage", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Usage records, and the calendar budgets count in.") \
  X(USAGE_TIMEZONE, "usage.timezone", QCC_KNOB_STRING, NULL, 1, 255, "local", "", 0, \
    QCC_FS(usage_timezone), \
    "Time zone of budget days and months: an IANA name (Asia/Shanghai, UTC) or local.") \
  X(USAGE_DETAIL_RETENTION, "usage.detail_retention", QCC_KNOB_DURATION, NULL, QCC_MS_HOUR, \
    400 * QCC_MS_DAY, "30d", "ms", 0, QCC_FS(usage_detail_retention_ms), \
    "Per-request usage records are kept this long, then rolled up per hour.") \
  X(USAGE_RETENTION, "usage.retention", QCC_KNOB_DURATION, NULL, QCC_MS_DAY, 3660 * QCC_MS_DAY, \
    "400d", "ms", 0, QCC_FS(usage_retention_ms), \
    "Hourly usage rollups are kept this long; at least detail_retention.") \
  X(PRICING, "pricing", QCC_KNOB_DICT, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "USD per million tokens by model name or glob (* and ?); the most specific entry wins.") \
  X(PRICE_INPUT, "pricing{}.input", QCC_KNOB_DECIMAL, NULL, 0, QCC_PRICE_MAX, NULL, "USD/MTok", \
    QCC_KF_REQUIRED, QCC_FPR(input), "Uncached input tokens.") \
  X(PRICE_OUTPUT, "pricing{}.output", QCC_KNOB_DECIMAL, NULL, 0, QCC_PRICE_MAX, NULL, \
    "USD/MTok", QCC_KF_REQUIRED, QCC_FPR(output), "Output tokens.") \
  X(PRICE_CACHE_WRITE_5M, "pricing{}.cache_write_5m", QCC_KNOB_DECIMAL, NULL, 0, QCC_PRICE_MAX, \
    NULL, "USD/MTok", 0, QCC_FPR(cache_write_5m), \
    "5-minute cache writes; not set = those tokens have no price.") \
  X(PRICE_CACHE_WRITE_1H, "pricing{}.cache_write_1h", QCC_KNOB_DECIMAL, NULL, 0, QCC_PRICE_MAX, \
    NULL, "USD/MTok", 0, QCC_FPR(cache_write_1h), \
    "1-hour cache writes; not set = those tokens have no price.") \
  X(PRICE_CACHE_READ, "pricing{}.cache_read", QCC_KNOB_DECIMAL, NULL, 0, QCC_PRICE_MAX, NULL, \
    "USD/MTok", 0, QCC_FPR(cache_read), "Cache reads; not set = those tokens have no price.") \
  X(GROUPS, "profile_groups", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Optional: profile names per group (must agree with each profile's priority).") \
  X(GROUPS_PRIMARY, "profile_groups.primary", QCC_KNOB_STRLIST, NULL, 0, 0, NULL, "", 0, \
    QCC_FNONE, "Profiles of the primary group.") \
  X(GROUPS_SECONDARY, "profile_groups.secondary", QCC_KNOB_STRLIST, NULL, 0, 0, NULL, "", 0, \
    QCC_FNONE, "Profiles of the secondary group.") \
  X(GROUPS_FALLBACK, "profile_groups.fallback", QCC_KNOB_STRLIST, NULL, 0, 0, NULL, "", 0, \
    QCC_FNONE, "Profiles of the fallback group.") \
  X(PROFILES, "profiles", QCC_KNOB_LIST, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Profiles: named sets of endpoints in a priority group.") \
  X(PROF_NAME, "profiles[].name", QCC_KNOB_STRING, NULL, 1, 255, NULL, "", QCC_KF_REQUIRED, \
    QCC_FP(name), "Unique profile name.") \
  X(PROF_DESC, "profiles[].description", QCC_KNOB_STRING, NULL, 0, 4096, NULL, "", 0, \
    QCC_FP(description), "Free text.") \
  X(PROF_PRIORITY, "profiles[].priority", QCC_KNOB_ENUM, &qcc_group_desc, 0, 0, "primary", "", 0, \
    QCC_FP(group), "Priority group: primary, secondary or fallback.") \
  X(PROF_ENABLED, "profiles[].enabled", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FP(enabled), "A disabled profile is compiled but never used.") \
  X(PROF_LB, "profiles[].load_balancing", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Per-profile override of loadbalancer; unset keys come from loadbalancer.") \
  X(PROF_LB_STRATEGY, "profiles[].load_balancing.strategy", QCC_KNOB_ENUM, &qcc_lb_desc, 0, 0, \
    "=loadbalancer.strategy", "", 0, QCC_FP(lb_strategy), "As loadbalancer.strategy.") \
  X(PROF_LB_HEALTH_AWARE, "profiles[].load_balancing.health_aware", QCC_KNOB_BOOL, NULL, 0, 1, \
    "=loadbalancer.health_aware", "", 0, QCC_FP(health_aware), "As loadbalancer.health_aware.") \
  X(PROF_LB_STICKY, "profiles[].load_balancing.sticky_session", QCC_KNOB_BOOL, NULL, 0, 1, \
    "=loadbalancer.sticky_session", "", 0, QCC_FP(sticky_session), \
    "As loadbalancer.sticky_session.") \
  X(ENDPOINTS, "profiles[].endpoints", QCC_KNOB_LIST, NULL, 0, 0, NULL, "", 0, QCC_FNONE, \
    "Upstreams of the profile: a base URL and a key.") \
  X(EP_ID, "profiles[].endpoints[].id", QCC_KNOB_STRING, NULL, 1, 255, NULL, "", QCC_KF_REQUIRED, \
    QCC_FE(id), "Unique across the whole config; live state follows it across reloads.") \
  X(EP_FROM, "profiles[].endpoints[].from", QCC_KNOB_STRING, NULL, 1, 255, NULL, "", 0, \
    QCC_FNONE, \
    "Id of an endpoint whose base_url, key and auth this one reuses (unless given here).") \
  X(EP_BASE_URL, "profiles[].endpoints[].base_url", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, \
    QCC_FE(base_url), \
    "http(s)://host[:port][/path]; plain http only to loopback unless allow_insecure.") \
  X(EP_API_KEY, "profiles[].endpoints[].api_key", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", \
    QCC_KF_SECRET, QCC_FNONE, \
    "The key itself (warning; an error under --strict). Prefer api_key_env.") \
  X(EP_API_KEY_ENV, "profiles[].endpoints[].api_key_env", QCC_KNOB_STRING, NULL, 1, 255, NULL, \
    "", 0, QCC_FNONE, "Environment variable holding the key, read by qcc-run.") \
  X(EP_API_KEY_FILE, "profiles[].endpoints[].api_key_file", QCC_KNOB_STRING, NULL, 1, 4096, NULL, \
    "", 0, QCC_FNONE, "File holding the key, read by qcc-run at load and reload.") \
  X(EP_AUTH, "profiles[].endpoints[].auth", QCC_KNOB_ENUM, &qcc_auth_desc, 0, 0, "x-api-key", "", \
    0, QCC_FE(auth), "How the key is sent: x-api-key header or Authorization: Bearer.") \
  X(EP_WEIGHT, "profiles[].endpoints[].weight", QCC_KNOB_INT, NULL, 0, 10000, "100", "", 0, \
    QCC_FE(weight), "Share of traffic under the weighted strategy.") \
  X(EP_PRIORITY, "profiles[].endpoints[].priority", QCC_KNOB_INT, NULL, 1, 1000, "1", "", 0, \
    QCC_FE(priority), "Order under the failover strategy (1 first).") \
  X(EP_ENABLED, "profiles[].endpoints[].enabled", QCC_KNOB_BOOL, NULL, 0, 1, "true", "", 0, \
    QCC_FE(enabled), "A disabled endpoint is compiled but gets no traffic.") \
  X(EP_MAX_FAILURES, "profiles[].endpoints[].max_failures", QCC_KNOB_INT, NULL, 1, 1000, "3", "", \
    0, QCC_FE(max_failures), "Consecutive failures that open the circuit breaker.") \
  X(EP_TIMEOUT, "profiles[].endpoints[].timeout", QCC_KNOB_DURATION, NULL, 100, QCC_MS_HOUR, \
    "=upstream.timeout", "ms", 0, QCC_FE(timeout_ms), \
    "Streamed request: time from the request sent to the first response body byte.") \
  X(EP_CONNECT_TIMEOUT, "profiles[].endpoints[].connect_timeout", QCC_KNOB_DURATION, NULL, 100, \
    10 * QCC_MS_MIN, "=upstream.connect_timeout", "ms", 0, QCC_FE(connect_timeout_ms), \
    "Time to open the TCP connection and finish the TLS handshake.") \
  X(EP_REQUEST_TIMEOUT, "profiles[].endpoints[].request_timeout", QCC_KNOB_DURATION, NULL, \
    QCC_MS_SEC, 24 * QCC_MS_HOUR, "=upstream.request_timeout", "ms", 0, \
    QCC_FE(request_timeout_ms), "Non-streamed request: time for the whole exchange.") \
  X(EP_STREAM_IDLE_TIMEOUT, "profiles[].endpoints[].stream_idle_timeout", QCC_KNOB_DURATION, \
    NULL, QCC_MS_SEC, 24 * QCC_MS_HOUR, "=upstream.stream_idle_timeout", "ms", 0, \
    QCC_FE(stream_idle_timeout_ms), "Longest silence inside a streamed response.") \
  X(EP_KEEP_WARM, "profiles[].endpoints[].keep_warm", QCC_KNOB_DURATION, NULL, 0, QCC_MS_HOUR, \
    "=upstream.keep_warm", "ms", QCC_KF_OFF, QCC_FE(keep_warm_ms), \
    "As upstream.keep_warm, for this endpoint's origin (the shortest of its endpoints wins; " \
    "0 or off = not for this endpoint).") \
  X(EP_CA_FILE, "profiles[].endpoints[].ca_file", QCC_KNOB_STRING, NULL, 1, 4096, "=tls.ca_file", \
    "", 0, QCC_FE(ca_file), "PEM bundle of CAs trusted for this endpoint.") \
  X(EP_PROXY, "profiles[].endpoints[].proxy", QCC_KNOB_STRING, NULL, 1, 4096, NULL, "", 0, \
    QCC_FE(proxy), \
    "Forward proxy: http://, https://, socks5:// or socks5h://host:port, no credentials.") \
  X(EP_PROXY_CRED_ENV, "profiles[].endpoints[].proxy_credentials_env", QCC_KNOB_STRING, NULL, 1, \
    255, NULL, "", 0, QCC_FE(proxy_credentials_env), \
    "Environment variable holding the proxy's user:password.") \
  X(EP_MAX_CONC, "profiles[].endpoints[].max_concurrency", QCC_KNOB_INT, NULL, 0, 100000, "0", \
    "", 0, QCC_FE(max_concurrency), "Most requests in flight to this endpoint; 0 = no limit.") \
  X(EP_INSECURE, "profiles[].endpoints[].allow_insecure", QCC_KNOB_BOOL, NULL, 0, 1, "false", "", \
    0, QCC_FE(allow_insecure), "Allow plain http to a host that is not loopback.") \
  X(EP_PRICE_MULTIPLIER, "profiles[].endpoints[].price_multiplier", QCC_KNOB_DECIMAL, NULL, 1, \
    1000 * QCC_DEC_ONE, "1", "", 0, QCC_FE(price_multiplier), \
    "Factor on the pricing: table for this endpoint (0.5: a relay that charges half).") \
  X(EP_BUDGET, "profiles[].endpoints[].budget", QCC_KNOB_SECTION, NULL, 0, 0, NULL, "", 0, \
    QCC_FNONE, "Spending cap; when spent, the endpoint rests until the period ends.") \
  X(EP_BUDGET_DAILY_USD, "profiles[].endpoints[].budget.daily_usd", QCC_KNOB_DECIMAL, NULL, 1, \
    QCC_BUDGET_USD_MAX, NULL, "USD", 0, QCC_FE(budget_daily_usd), \
    "USD per day (in usage.timezone); not set = no cap.") \
  X(EP_BUDGET_MONTHLY_USD, "profiles[].endpoints[].budget.monthly_usd", QCC_KNOB_DECIMAL, NULL, \
    1, QCC_BUDGET_USD_MAX, NULL, "USD", 0, QCC_FE(budget_monthly_usd), \
    "USD per calendar month; not set = no cap.") \
  X(EP_BUDGET_DAILY_TOKENS, "profiles[].endpoints[].budget.daily_tokens", QCC_KNOB_INT, NULL, 1, \
    UINT64_C(1000000000000000), NULL, "tokens", 0, QCC_FE(budget_daily_tokens), \
    "Tokens of every kind per day; not set = no cap.") \
  X(EP_MODELS, "profiles[].endpoints[].models", QCC_KNOB_STRMAP, NULL, 0, 0, NULL, "", 0, \
    QCC_FNONE, \
    "Model-name mapping {requested: sent upstream}; keys may be globs (* ? [a-z]), the most " \
    "specific match wins (exact, then most literal characters, then first written); \"*\" is " \
    "the default.") \
  X(EP_METADATA, "profiles[].endpoints[].metadata", QCC_KNOB_SCALARMAP, NULL, 0, 0, NULL, "", 0, \
    QCC_FNONE, "Free scalar metadata (provider, region ...).") \
  X(EP_RATE_LIMIT, "profiles[].endpoints[].metadata.rate_limit", QCC_KNOB_INT, NULL, 0, 1000000, \
    "0", "req/min", 0, QCC_FE(rate_limit), \
    "Requests per minute sent to this endpoint; 0 = no limit.")

#define QCC_KNOB_ID_(id, ...) QCC_K_##id,
enum qcc_knob_id { QCC_KNOBS(QCC_KNOB_ID_) QCC_KNOB_COUNT };
#undef QCC_KNOB_ID_

#endif
