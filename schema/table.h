/* The routing table: the one file qccc writes and qcc-run reads.
 *
 * Byte-for-byte description: docs/table-format.md (a test checks these structs
 * against it). All integers are little-endian and fixed-width; references are
 * offsets into the file, never pointers; every section starts 8-byte aligned.
 *
 * File layout:
 *   [0, 128)                     struct qcc_tbl_header
 *   [128, 128 + 24*section_count) section directory (struct qcc_tbl_section[])
 *   sections, each 8-byte aligned, zero padding between them
 * The payload checksum covers [128, file_size); the header checksum covers
 * header bytes [0, 120). The header is written last (see compiler/).
 *
 * Compatibility: a reader accepts any file of its major version. A newer minor
 * may append fields to a record (the directory's record_size grows) or add
 * sections with unknown ids; the reader strides by record_size and skips
 * unknown sections. It never accepts a record_size smaller than it knows. */
#ifndef QCC_SCHEMA_TABLE_H
#define QCC_SCHEMA_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "config_keys.h"
#include "enums.h"

#define QCC_TABLE_MAGIC "QCCTBL\r\n" /* \r\n catches text-mode mangling */
#define QCC_TABLE_MAGIC_LEN 8
#define QCC_TABLE_BYTE_ORDER 0x01020304u /* reads 0x04030201 on a big-endian host */
#define QCC_TABLE_MAJOR 1
#define QCC_TABLE_MINOR 3 /* 1: upstream timeouts, tls, alerts, proxy; 2: pricing, budgets;
                             3: keep_warm */
#define QCC_TABLE_HEADER_SIZE 128
#define QCC_TABLE_ALIGN 8
#define QCC_TABLE_MAX_SIZE (1ull << 31) /* 2 GiB: anything larger is not ours */

/* header.flags */
#define QCC_TABLE_FLAG_LITERAL_KEYS 0x1ull /* some endpoint stores a literal key */

struct qcc_tbl_header {
  uint8_t magic[8];          /*   0 QCC_TABLE_MAGIC */
  uint32_t byte_order;       /*   8 QCC_TABLE_BYTE_ORDER */
  uint16_t version_major;    /*  12 */
  uint16_t version_minor;    /*  14 */
  uint32_t header_size;      /*  16 = 128 */
  uint32_t section_count;    /*  20 entries in the directory */
  uint64_t file_size;        /*  24 whole file, bytes */
  uint64_t generation;       /*  32 1, 2, 3 ... per output path */
  int64_t build_time;        /*  40 unix seconds (SOURCE_DATE_EPOCH if set) */
  uint8_t source_digest[16]; /*  48 XXH3-128 of the normalized config, canonical big-endian */
  uint64_t payload_checksum; /*  64 XXH3-64 of bytes [128, file_size) */
  uint64_t flags;            /*  72 QCC_TABLE_FLAG_* */
  uint8_t reserved[40];      /*  80 zero */
  uint64_t header_checksum;  /* 120 XXH3-64 of bytes [0, 120) */
};

enum qcc_tbl_section_id {
  QCC_SEC_SETTINGS = 1,    /* exactly one struct qcc_tbl_settings */
  QCC_SEC_PROFILES = 2,    /* struct qcc_tbl_profile[] */
  QCC_SEC_ENDPOINTS = 3,   /* struct qcc_tbl_endpoint[], grouped by profile */
  QCC_SEC_MODEL_MAPS = 4,  /* struct qcc_tbl_pair[] (from model, to model) */
  QCC_SEC_METADATA = 5,    /* struct qcc_tbl_pair[] (key, value) */
  QCC_SEC_AUTH_TOKENS = 6, /* struct qcc_tbl_token[] */
  QCC_SEC_STRINGS = 7,     /* string pool, record_size 1; byte 0 is NUL */
  QCC_SEC_PRICES = 8,      /* struct qcc_tbl_price[], in config order (1.2) */
};

struct qcc_tbl_section {
  uint32_t id;          /*  0 enum qcc_tbl_section_id */
  uint32_t record_size; /*  4 bytes per record */
  uint64_t offset;      /*  8 from file start, 8-aligned */
  uint64_t count;       /* 16 records */
};

/* A string: bytes [off, off+len) of the pool, and pool[off+len] == 0.
 * The empty string is {0, 0}. */
struct qcc_tbl_str {
  uint32_t off;
  uint32_t len;
};

/* Where a secret comes from (enum qcc_key_kind). value is the env variable
 * name, the file path, or (QCC_KEY_LITERAL only) the key itself. */
struct qcc_tbl_keyref {
  uint8_t kind;             /*  0 enum qcc_key_kind */
  uint8_t pad[7];           /*  1 zero */
  struct qcc_tbl_str value; /*  8 */
};

struct qcc_tbl_settings {
  /* proxy */
  struct qcc_tbl_str host;       /*   0 listen address */
  struct qcc_tbl_str tls_cert;   /*   8 path, empty unless ssl_enabled */
  struct qcc_tbl_str tls_key;    /*  16 path of the TLS private key file */
  uint16_t port;                 /*  24 */
  uint8_t ssl_enabled;           /*  26 */
  uint8_t log_level;             /*  27 enum qcc_log_level */
  uint8_t access_log;            /*  28 */
  uint8_t journal_fsync;         /*  29 enum qcc_fsync_policy */
  uint8_t pad0[2];               /*  30 */
  uint32_t max_connections;      /*  32 */
  uint32_t max_header_bytes;     /*  36 request head limit (431 beyond) */
  uint64_t max_body_bytes;       /*  40 request body limit (413 beyond) */
  uint32_t header_timeout_ms;    /*  48 slow client: whole head must arrive */
  uint32_t idle_timeout_ms;      /*  52 keep-alive idle */
  uint32_t drain_timeout_ms;     /*  56 graceful shutdown grace */
  uint32_t pad1;                 /*  60 */
  /* health */
  uint8_t health_enabled;        /*  64 */
  uint8_t health_check;          /*  65 enum qcc_check_kind */
  uint8_t alert_enabled;         /*  66 */
  uint8_t pad2;                  /*  67 */
  uint32_t check_interval_ms;    /*  68 */
  uint32_t health_timeout_ms;    /*  72 */
  uint32_t retry_count;          /*  76 */
  uint32_t alert_threshold;      /*  80 */
  /* queue */
  uint8_t queue_enabled;         /*  84 */
  uint8_t retry_strategy;        /*  85 enum qcc_retry_strategy */
  uint8_t persistence_enabled;   /*  86 */
  uint8_t pad3;                  /*  87 */
  uint32_t queue_max_size;       /*  88 */
  uint32_t max_retries;          /*  92 */
  uint32_t max_wait_ms;          /*  96 */
  /* loadbalancer (global default; profiles carry their effective copy) */
  uint8_t lb_strategy;           /* 100 enum qcc_lb_strategy */
  uint8_t health_aware;          /* 101 */
  uint8_t sticky_session;        /* 102 */
  uint8_t pad4;                  /* 103 */
  /* switching_policy */
  uint8_t auto_switch;           /* 104 */
  uint8_t auto_recovery;         /* 105 */
  uint8_t fallback_enabled;      /* 106 */
  uint8_t pad5;                  /* 107 */
  uint32_t switch_threshold;     /* 108 */
  uint32_t cooldown_ms;          /* 112 */
  uint32_t reserved[3];          /* 116 zero */
  /* 1.1: tls, alerts, upstream (endpoints carry the resolved timeouts) */
  struct qcc_tbl_str tls_ca_file;  /* 128 tls.ca_file, empty = system CAs */
  struct qcc_tbl_str tls_ca_path;  /* 136 tls.ca_path, empty = none */
  struct qcc_tbl_str alerts_exec;  /* 144 shell command, empty = none */
  struct qcc_tbl_str alerts_webhook; /* 152 http(s) URL, empty = none */
  uint32_t upstream_connect_timeout_ms;     /* 160 */
  uint32_t upstream_timeout_ms;             /* 164 */
  uint32_t upstream_request_timeout_ms;     /* 168 */
  uint32_t upstream_stream_idle_timeout_ms; /* 172 */
  uint32_t alerts_timeout_ms;      /* 176 */
  uint32_t pad6;                   /* 180 */
  /* 1.2: usage */
  struct qcc_tbl_str usage_timezone;  /* 184 IANA zone name, or "local" */
  uint64_t usage_detail_retention_ms; /* 192 per-request records kept this long */
  uint64_t usage_retention_ms;        /* 200 hourly rollups kept this long */
  /* 1.3: the connection warmer (endpoints carry the resolved interval) */
  uint32_t upstream_keep_warm_ms;     /* 208 0 = off */
  uint32_t upstream_keep_warm_for_ms; /* 212 warming stops this long after the last request */
};                                    /* 216 */

struct qcc_tbl_profile {
  struct qcc_tbl_str name;        /*  0 */
  struct qcc_tbl_str description; /*  8 */
  uint8_t group;                  /* 16 enum qcc_group */
  uint8_t enabled;                /* 17 */
  uint8_t lb_strategy;            /* 18 effective (override or global) */
  uint8_t lb_override;            /* 19 1 if the profile set load_balancing */
  uint8_t health_aware;           /* 20 effective */
  uint8_t sticky_session;         /* 21 effective */
  uint8_t pad[2];                 /* 22 */
  uint32_t endpoint_first;        /* 24 index into ENDPOINTS */
  uint32_t endpoint_count;        /* 28 */
};                                /* 32 */

struct qcc_tbl_endpoint {
  uint64_t stable_id;          /*  0 XXH3-64 of the id string: live state key */
  struct qcc_tbl_str id;       /*  8 */
  struct qcc_tbl_str base_url; /* 16 http(s)://host[:port][/prefix], no trailing / */
  struct qcc_tbl_keyref key;   /* 24 */
  uint32_t profile_index;      /* 40 */
  uint32_t weight;             /* 44 */
  uint32_t priority;           /* 48 lower first (failover strategy) */
  uint32_t max_failures;       /* 52 breaker opens after this many in a row */
  uint32_t timeout_ms;         /* 56 streamed: request sent -> first body byte */
  uint32_t rate_limit;         /* 60 requests/minute, 0 = none (metadata.rate_limit) */
  uint32_t max_concurrency;    /* 64 in-flight cap, 0 = none */
  uint8_t enabled;             /* 68 */
  uint8_t auth;                /* 69 enum qcc_auth_style */
  uint8_t allow_insecure;      /* 70 */
  uint8_t pad;                 /* 71 */
  uint32_t model_map_first;    /* 72 index into MODEL_MAPS */
  uint32_t model_map_count;    /* 76 */
  uint32_t metadata_first;     /* 80 index into METADATA */
  uint32_t metadata_count;     /* 84 */
  uint64_t identity_hash;      /* 88 XXH3-64 of base_url, auth, key kind+value:
                                       live state is reset when it changes */
  /* 1.1: resolved per endpoint (own value, else the upstream.* / tls one) */
  struct qcc_tbl_str ca_file;  /* 96 PEM CA bundle, empty = system CAs */
  struct qcc_tbl_str proxy;    /* 104 forward proxy URL, empty = direct */
  struct qcc_tbl_str proxy_credentials_env; /* 112 env var with user:password */
  uint32_t connect_timeout_ms;     /* 120 TCP + TLS connect */
  uint32_t request_timeout_ms;     /* 124 whole non-streamed request */
  uint32_t stream_idle_timeout_ms; /* 128 longest silence inside a stream */
  uint32_t pad2;                   /* 132 */
  /* 1.2: budgets (0 = none) and the price multiplier */
  uint64_t budget_daily_usd;       /* 136 micro-USD per day */
  uint64_t budget_monthly_usd;     /* 144 micro-USD per month */
  uint64_t budget_daily_tokens;    /* 152 tokens (all kinds) per day */
  uint32_t price_multiplier;       /* 160 parts per million; 1000000 (and 0) = list price */
  uint32_t pad3;                   /* 164 */
  /* 1.3 */
  uint32_t keep_warm_ms;           /* 168 idle time before its origin is warmed, 0 = off */
  uint32_t pad4;                   /* 172 */
};                                 /* 176 */

struct qcc_tbl_pair {
  struct qcc_tbl_str key;   /* 0 */
  struct qcc_tbl_str value; /* 8 */
};                          /* 16 */

struct qcc_tbl_token {
  struct qcc_tbl_str name;   /*  0 optional label, for logs */
  struct qcc_tbl_keyref key; /*  8 where the client token comes from */
  uint32_t priority;         /* 24 queue priority of requests carrying it */
  uint32_t pad;              /* 28 */
  /* 1.2: the client's budget (0 = none) */
  uint64_t budget_daily_usd;    /* 32 micro-USD per day */
  uint64_t budget_monthly_usd;  /* 40 micro-USD per month */
  uint64_t budget_daily_tokens; /* 48 tokens (all kinds) per day */
};                              /* 56 */

/* Kinds of token a price applies to: bit k of qcc_tbl_price.priced. */
enum qcc_price_kind {
  QCC_PRICE_INPUT,
  QCC_PRICE_OUTPUT,
  QCC_PRICE_CACHE_WRITE_5M,
  QCC_PRICE_CACHE_WRITE_1H,
  QCC_PRICE_CACHE_READ,
  QCC_PRICE_KINDS
};

/* One `pricing:` entry. Rates are micro-USD per million tokens, which is
 * exactly pico-USD per token; a kind whose bit is clear in `priced` has no
 * price (its rate is 0). schema/pricing.h does the lookup and arithmetic. */
struct qcc_tbl_price {
  struct qcc_tbl_str model; /*  0 exact model name, or a glob with * and ? */
  uint64_t input;           /*  8 */
  uint64_t output;          /* 16 */
  uint64_t cache_write_5m;  /* 24 */
  uint64_t cache_write_1h;  /* 32 */
  uint64_t cache_read;      /* 40 */
  uint8_t priced;           /* 48 bit (1 << enum qcc_price_kind) set = that kind has a price */
  uint8_t pad[7];           /* 49 */
};                          /* 56 */

_Static_assert(sizeof(struct qcc_tbl_header) == QCC_TABLE_HEADER_SIZE, "header");
_Static_assert(sizeof(struct qcc_tbl_section) == 24, "section");
_Static_assert(sizeof(struct qcc_tbl_keyref) == 16, "keyref");
_Static_assert(sizeof(struct qcc_tbl_settings) == 216, "settings");
_Static_assert(sizeof(struct qcc_tbl_profile) == 32, "profile");
_Static_assert(sizeof(struct qcc_tbl_endpoint) == 176, "endpoint");
_Static_assert(sizeof(struct qcc_tbl_pair) == 16, "pair");
_Static_assert(sizeof(struct qcc_tbl_token) == 56, "token");
_Static_assert(sizeof(struct qcc_tbl_price) == 56, "price");

/* Where each row of schema/config_keys.h lives in the table, indexed by enum
 * qcc_knob_id (rec == QCC_REC_NONE: the row has no field of its own). The
 * reader verifies every field from it (strings, booleans, enum values), and
 * the compiler lays out, digests and shows settings from it. */
struct qcc_tbl_field {
  uint8_t rec;      /* enum qcc_rec */
  uint32_t offset;  /* in the record */
  uint32_t size;    /* bytes */
  const char *name; /* the struct member */
  uint8_t kind;     /* enum qcc_knob_kind */
  const struct qcc_enum_desc *desc; /* QCC_KNOB_ENUM only */
  const char *path; /* the key as the user writes it */
  unsigned flags;   /* QCC_KF_* */
};
extern const struct qcc_tbl_field qcc_tbl_fields[QCC_KNOB_COUNT];

/* ---- the one reader ------------------------------------------------------
 * qcc_table_open* verifies everything before returning: header fields and
 * checksums, every section bound, every record's string refs (in the pool and
 * NUL-terminated), enum values, index ranges (endpoint ranges of profiles,
 * pair ranges of endpoints, profile_index). After a successful open every
 * accessor below is safe without further checks.
 *
 * Pointers returned stay valid until qcc_table_close() of that table. A
 * table opened from a file is a private copy read at open (never a mapping
 * of the file), so nothing done to the file later can change or fault it. */

enum qcc_table_status {
  QCC_TABLE_OK = 0,
  QCC_TABLE_ERR_IO,          /* open/stat/mmap failed (errno in message) */
  QCC_TABLE_ERR_NOT_TABLE,   /* bad magic or byte order: not our file */
  QCC_TABLE_ERR_VERSION,     /* major version we do not read */
  QCC_TABLE_ERR_TRUNCATED,   /* shorter than the header says */
  QCC_TABLE_ERR_CHECKSUM,    /* header or payload checksum mismatch */
  QCC_TABLE_ERR_MALFORMED,   /* checksums fine, but contents invalid */
};

struct qcc_table_error {
  enum qcc_table_status status;
  uint64_t offset;   /* file offset of the problem, when known */
  char message[256]; /* what is wrong, no secrets */
};

struct qcc_table;

/* Read PATH (a regular file of at most QCC_TABLE_MAX_SIZE bytes; a FIFO or
 * device is refused without blocking) into private memory and verify it. */
int qcc_table_open(const char *path, struct qcc_table **out, struct qcc_table_error *err);
/* Verify an in-memory image; BUF must outlive the table (no copy). */
int qcc_table_open_buffer(const void *buf, size_t len, struct qcc_table **out,
                          struct qcc_table_error *err);
void qcc_table_close(struct qcc_table **t);

/* Short stable name of a status ("checksum mismatch"). */
const char *qcc_table_status_name(enum qcc_table_status s);

const struct qcc_tbl_header *qcc_table_header(const struct qcc_table *t);
const struct qcc_tbl_settings *qcc_table_settings(const struct qcc_table *t);
const void *qcc_table_bytes(const struct qcc_table *t, size_t *len);

uint32_t qcc_table_profile_count(const struct qcc_table *t);
const struct qcc_tbl_profile *qcc_table_profile(const struct qcc_table *t, uint32_t i);
uint32_t qcc_table_endpoint_count(const struct qcc_table *t);
const struct qcc_tbl_endpoint *qcc_table_endpoint(const struct qcc_table *t, uint32_t i);
uint32_t qcc_table_model_map_count(const struct qcc_table *t);
const struct qcc_tbl_pair *qcc_table_model_map(const struct qcc_table *t, uint32_t i);
uint32_t qcc_table_metadata_count(const struct qcc_table *t);
const struct qcc_tbl_pair *qcc_table_metadata(const struct qcc_table *t, uint32_t i);
uint32_t qcc_table_token_count(const struct qcc_table *t);
const struct qcc_tbl_token *qcc_table_token(const struct qcc_table *t, uint32_t i);
/* `pricing:` entries in config order (none in a 1.0/1.1 table). */
uint32_t qcc_table_price_count(const struct qcc_table *t);
const struct qcc_tbl_price *qcc_table_price(const struct qcc_table *t, uint32_t i);

/* The NUL-terminated string S refers to (verified at open). */
const char *qcc_table_str(const struct qcc_table *t, struct qcc_tbl_str s);
/* Index of the endpoint with this stable id, or -1. */
int64_t qcc_table_find_endpoint(const struct qcc_table *t, uint64_t stable_id);
/* Index of the profile named NAME, or -1. */
int64_t qcc_table_find_profile(const struct qcc_table *t, const char *name);

#endif
