#include "egress.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One CA store per distinct ca_file (tls.ca_path is global). */
struct store {
  const char *ca_file; /* table string, "" = none */
  X509_STORE *x509;
  char source[320];
  /* ca_file stores: what libcurl sees of this trust (trust_blob) */
  struct curl_blob blob;
  char *blob_text;
};

struct qcc_egress {
  const struct qcc_table *t;
  struct store *stores;
  size_t nstores;
  int32_t *ep_store;  /* per endpoint: index into stores, -1 = plain HTTP */
  char **ep_userpwd;  /* per endpoint: proxy credentials or NULL (wiped on free) */
  char *noproxy;
  const char *ca_path; /* tls.ca_path (table string) */
};

static bool is_https(const char *url) { return strncasecmp(url, "https://", 8) == 0; }

/* OpenSSL's reason for the last failure, or errno's. */
static const char *ssl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
  return r != NULL ? r : strerror(errno != 0 ? errno : EINVAL);
}

static int load_file(X509_STORE *s, const char *what, const char *file, struct qcc_err *err) {
  FILE *f = fopen(file, "r");
  if (f == NULL)
    return qcc_err_set(err, errno, "%s %s: %s", what, file, strerror(errno));
  fclose(f);
  ERR_clear_error();
  if (X509_STORE_load_file(s, file) != 1)
    return qcc_err_set(err, EINVAL, "%s %s: no PEM certificate could be read (%s)", what, file,
                       ssl_reason());
  return 0;
}

/* DIRS is one directory or a ':' list (as OpenSSL reads SSL_CERT_DIR); its
 * certificates are found by subject hash at verification time and then kept
 * in the store. */
static int load_dirs(X509_STORE *s, const char *what, const char *dirs, struct qcc_err *err) {
  char one[4096];
  for (const char *p = dirs; *p != '\0';) {
    size_t n = strcspn(p, ":");
    if (n > 0 && n < sizeof one) {
      memcpy(one, p, n);
      one[n] = '\0';
      DIR *d = opendir(one);
      if (d == NULL) return qcc_err_set(err, errno, "%s %s: %s", what, one, strerror(errno));
      closedir(d);
    }
    p += n;
    if (*p == ':') p++;
  }
  ERR_clear_error();
  if (X509_STORE_load_path(s, dirs) != 1)
    return qcc_err_set(err, EINVAL, "%s %s: %s", what, dirs, ssl_reason());
  return 0;
}

#define CA_FILE_MAX (64u << 20)

static int read_small_file(const char *file, char **out, size_t *len, struct qcc_err *err) {
  FILE *f = fopen(file, "rb");
  if (f == NULL) return qcc_err_set(err, errno, "ca_file %s: %s", file, strerror(errno));
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      size_t ncap = cap == 0 ? 16384 : cap * 2;
      char *nb = ncap <= CA_FILE_MAX ? realloc(buf, ncap) : NULL;
      if (nb == NULL) {
        free(buf);
        fclose(f);
        return qcc_err_set(err, EFBIG, "ca_file %s: larger than %u MiB or out of memory", file,
                           CA_FILE_MAX >> 20);
      }
      buf = nb;
      cap = ncap;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return qcc_err_set(err, EIO, "ca_file %s: read error", file);
  }
  *out = buf;
  *len = n;
  return 0;
}

/* libcurl picks a pooled connection (or a TLS session to resume) by host,
 * port and its own TLS settings (Curl_ssl_config_matches), which do not
 * include a store installed by CURLOPT_SSL_CTX_FUNCTION: two endpoints on
 * one host:port with different ca_files would share a connection verified
 * with either's CAs. So a ca_file store also goes to libcurl as
 * CURLOPT_CAINFO_BLOB, which does take part in that matching: a line naming
 * the trust (its source and the SHA-256 of the file's bytes, so a changed
 * file is new trust after a reload, and the same file the same trust) and
 * an empty CRL whose issuer is that hash. For each new connection libcurl
 * adds the blob's objects to the store it verifies with, which is this
 * store, where the CRL already is (added here, as read back from the blob:
 * OpenSSL tells a CRL it has by the digest it takes when reading one): the
 * store's contents never change, and the CRL has no effect (it revokes nothing, its issuer issues nothing,
 * and CRL checking is off). A CRL rather than one of the file's CAs,
 * which would be as neutral: parsing a certificate's public key costs 1.3 M
 * instructions in OpenSSL 3.0, a third of a new connection; this CRL 70 k.
 * It is signed (a CRL must be) with a key derived from the hash, so the
 * same trust always gives the same bytes. */
static int trust_blob(struct store *st, struct qcc_err *err) {
  char *bytes = NULL;
  size_t n = 0;
  if (read_small_file(st->ca_file, &bytes, &n, err) != 0) return -1;
  unsigned char md[32];
  unsigned int mdlen = 0;
  int ok = EVP_Digest(bytes, n, md, &mdlen, EVP_sha256(), NULL) == 1;
  free(bytes);
  char hex[65];
  for (unsigned int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  /* the signing key: SHA-256 of a fixed prefix and the hash */
  unsigned char seed[32];
  EVP_MD_CTX *mdc = EVP_MD_CTX_new();
  ok = ok && mdc != NULL && EVP_DigestInit_ex(mdc, EVP_sha256(), NULL) == 1 &&
       EVP_DigestUpdate(mdc, "qcc trust key", 13) == 1 && EVP_DigestUpdate(mdc, md, 32) == 1 &&
       EVP_DigestFinal_ex(mdc, seed, NULL) == 1;
  EVP_MD_CTX_free(mdc);
  EVP_PKEY *key = ok ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32) : NULL;
  OPENSSL_cleanse(seed, sizeof seed);
  X509_CRL *crl = X509_CRL_new();
  X509_NAME *issuer = X509_NAME_new();
  ASN1_TIME *when = ASN1_TIME_set(NULL, 946684800); /* fixed: 2000-01-01 */
  BIO *out = BIO_new(BIO_s_mem());
  char *pem = NULL;
  long plen = 0;
  ok = ok && key != NULL && crl != NULL && issuer != NULL && when != NULL && out != NULL &&
       X509_NAME_add_entry_by_txt(issuer, "O", MBSTRING_ASC, (const unsigned char *)"qcc trust",
                                  -1, -1, 0) == 1 &&
       X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC, (const unsigned char *)hex, -1, -1,
                                  0) == 1 &&
       X509_CRL_set_version(crl, 1) == 1 && X509_CRL_set_issuer_name(crl, issuer) == 1 &&
       X509_CRL_set1_lastUpdate(crl, when) == 1 && X509_CRL_sign(crl, key, NULL) > 0 &&
       BIO_printf(out, "qcc trust: %s, sha256 %s\n", st->source, hex) > 0 &&
       PEM_write_bio_X509_CRL(out, crl) == 1 && (plen = BIO_get_mem_data(out, &pem)) > 0 &&
       (st->blob_text = malloc((size_t)plen)) != NULL;
  X509_CRL *back = NULL;
  if (ok) {
    memcpy(st->blob_text, pem, (size_t)plen);
    st->blob = (struct curl_blob){.data = st->blob_text, .len = (size_t)plen,
                                  .flags = CURL_BLOB_NOCOPY};
    BIO *in = BIO_new_mem_buf(st->blob_text, (int)plen);
    back = in != NULL ? PEM_read_bio_X509_CRL(in, NULL, NULL, NULL) : NULL;
    ok = back != NULL && X509_STORE_add_crl(st->x509, back) == 1;
    BIO_free(in);
  }
  X509_CRL_free(back);
  BIO_free(out);
  ASN1_TIME_free(when);
  X509_NAME_free(issuer);
  X509_CRL_free(crl);
  EVP_PKEY_free(key);
  if (!ok) return qcc_err_set(err, ENOMEM, "ca_file %s: cannot make its trust tag (%s)",
                              st->ca_file, ssl_reason());
  return 0;
}

static int build_store(struct store *st, const char *ca_path, struct qcc_err *err) {
  X509_STORE *s = X509_STORE_new();
  if (s == NULL) return qcc_err_set(err, ENOMEM, "out of memory building a CA store");
  st->x509 = s;
  /* as curl does by default: a CA in the file may be an intermediate */
  X509_STORE_set_flags(s, X509_V_FLAG_PARTIAL_CHAIN);
  if (st->ca_file[0] != '\0' || ca_path[0] != '\0') {
    if (st->ca_file[0] != '\0' && load_file(s, "ca_file", st->ca_file, err) != 0) return -1;
    if (ca_path[0] != '\0' && load_dirs(s, "tls.ca_path", ca_path, err) != 0) return -1;
    if (st->ca_file[0] != '\0' && ca_path[0] != '\0')
      snprintf(st->source, sizeof st->source, "ca_file %s, tls.ca_path %s", st->ca_file, ca_path);
    else if (st->ca_file[0] != '\0')
      snprintf(st->source, sizeof st->source, "ca_file %s", st->ca_file);
    else
      snprintf(st->source, sizeof st->source, "tls.ca_path %s", ca_path);
    /* the one store of a generation without a ca_file is told apart from
     * the others by having no blob */
    return st->ca_file[0] != '\0' ? trust_blob(st, err) : 0;
  }
  /* OpenSSL's own defaults, with its variables read the way it reads them,
   * except that a variable naming something unusable is an error here
   * instead of an empty store */
  const char *env_file = getenv(X509_get_default_cert_file_env());
  const char *env_dir = getenv(X509_get_default_cert_dir_env());
  bool ef = env_file != NULL && env_file[0] != '\0';
  bool ed = env_dir != NULL && env_dir[0] != '\0';
  if (ef && load_file(s, X509_get_default_cert_file_env(), env_file, err) != 0) return -1;
  if (ed && load_dirs(s, X509_get_default_cert_dir_env(), env_dir, err) != 0) return -1;
  const char *file = ef ? env_file : X509_get_default_cert_file();
  const char *dir = ed ? env_dir : X509_get_default_cert_dir();
  ERR_clear_error();
  if (!ef) (void)X509_STORE_load_file(s, file); /* a system without a bundle: the directory */
  if (!ed) (void)X509_STORE_load_path(s, dir);
  ERR_clear_error();
  if (ef || ed)
    snprintf(st->source, sizeof st->source, "%s%s%s%s%s", ef ? "SSL_CERT_FILE=" : "",
             ef ? env_file : "", ef && ed ? ", " : "", ed ? "SSL_CERT_DIR=" : "", ed ? env_dir : "");
  else
    snprintf(st->source, sizeof st->source, "system CAs (%s, %s)", file, dir);
  return 0;
}

static int find_store(const struct qcc_egress *eg, const char *ca_file) {
  for (size_t i = 0; i < eg->nstores; i++)
    if (strcmp(eg->stores[i].ca_file, ca_file) == 0) return (int)i;
  return -1;
}

/* The environment's no_proxy as libcurl would read it, plus loopback. */
static char *make_noproxy(void) {
  const char *env = getenv("no_proxy");
  if (env == NULL || env[0] == '\0') env = getenv("NO_PROXY");
  if (env == NULL || env[0] == '\0') return strdup(QCC_EGRESS_LOOPBACK);
  if (strcmp(env, "*") == 0) return strdup("*");
  size_t n = strlen(env) + sizeof QCC_EGRESS_LOOPBACK + 1;
  char *s = malloc(n);
  if (s != NULL) snprintf(s, n, "%s,%s", env, QCC_EGRESS_LOOPBACK);
  return s;
}

int qcc_egress_new(const struct qcc_table *t, struct qcc_egress **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_egress *eg = calloc(1, sizeof *eg);
  if (eg == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  eg->t = t;
  uint32_t n = qcc_table_endpoint_count(t);
  eg->ep_store = calloc(n > 0 ? n : 1, sizeof *eg->ep_store);
  eg->ep_userpwd = calloc(n > 0 ? n : 1, sizeof *eg->ep_userpwd);
  eg->stores = calloc(n > 0 ? n : 1, sizeof *eg->stores);
  eg->noproxy = make_noproxy();
  if (eg->ep_store == NULL || eg->ep_userpwd == NULL || eg->stores == NULL || eg->noproxy == NULL) {
    qcc_egress_free(&eg);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  const char *ca_path = qcc_table_str(t, qcc_table_settings(t)->tls_ca_path);
  eg->ca_path = ca_path;
  for (uint32_t i = 0; i < n; i++) {
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, i);
    const char *id = qcc_table_str(t, ep->id);
    eg->ep_store[i] = -1;
    const char *cred_env = qcc_table_str(t, ep->proxy_credentials_env);
    if (qcc_table_str(t, ep->proxy)[0] != '\0' && cred_env[0] != '\0') {
      const char *v = getenv(cred_env);
      if (v == NULL || v[0] == '\0') {
        qcc_egress_free(&eg);
        return qcc_err_set(err, ENOENT, "endpoint '%s': proxy_credentials_env %s is not set", id,
                           cred_env);
      }
      eg->ep_userpwd[i] = strdup(v);
      if (eg->ep_userpwd[i] == NULL) {
        qcc_egress_free(&eg);
        return qcc_err_set(err, ENOMEM, "out of memory");
      }
    }
    /* TLS to the upstream, or to an https proxy */
    if (!is_https(qcc_table_str(t, ep->base_url)) && !is_https(qcc_table_str(t, ep->proxy)))
      continue;
    const char *ca_file = qcc_table_str(t, ep->ca_file);
    int k = find_store(eg, ca_file);
    if (k < 0) {
      struct store *st = &eg->stores[eg->nstores++];
      st->ca_file = ca_file;
      if (build_store(st, ca_path, err) != 0) {
        qcc_err_wrap(err, "endpoint '%s'", id);
        qcc_egress_free(&eg);
        return -1;
      }
      k = (int)(eg->nstores - 1);
    }
    eg->ep_store[i] = k;
  }
  *out = eg;
  return 0;
}

void qcc_egress_free(struct qcc_egress **egp) {
  if (egp == NULL || *egp == NULL) return;
  struct qcc_egress *eg = *egp;
  *egp = NULL;
  uint32_t n = eg->t != NULL ? qcc_table_endpoint_count(eg->t) : 0;
  for (uint32_t i = 0; eg->ep_userpwd != NULL && i < n; i++) {
    if (eg->ep_userpwd[i] == NULL) continue;
    OPENSSL_cleanse(eg->ep_userpwd[i], strlen(eg->ep_userpwd[i]));
    free(eg->ep_userpwd[i]);
  }
  /* connections still open keep their own reference (SSL_CTX_set1_cert_store) */
  for (size_t i = 0; i < eg->nstores; i++) {
    X509_STORE_free(eg->stores[i].x509);
    free(eg->stores[i].blob_text);
  }
  free(eg->stores);
  free(eg->ep_store);
  free(eg->ep_userpwd);
  free(eg->noproxy);
  free(eg);
}

/* Called by libcurl for each new TLS connection (to the upstream, or to an
 * https proxy): verify with the shared store instead of loading one. */
static CURLcode use_store(CURL *curl, void *ssl_ctx, void *store) {
  (void)curl;
  SSL_CTX_set1_cert_store(ssl_ctx, store);
  return CURLE_OK;
}

#define SETOPT(opt, val)                                            \
  do {                                                              \
    if (curl_easy_setopt(easy, opt, val) != CURLE_OK) return -1;    \
  } while (0)

int qcc_egress_apply(const struct qcc_egress *eg, const struct qcc_tbl_endpoint *ep, CURL *easy) {
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
  if (eg == NULL) {
    SETOPT(CURLOPT_NOPROXY, QCC_EGRESS_LOOPBACK);
    return 0;
  }
  int64_t i = ep != NULL ? qcc_table_find_endpoint(eg->t, ep->stable_id) : -1;
  if (i < 0) return -1;
  SETOPT(CURLOPT_NOPROXY, eg->noproxy);
  const char *proxy = qcc_table_str(eg->t, ep->proxy);
  if (proxy[0] != '\0') {
    SETOPT(CURLOPT_PROXY, proxy);
    if (eg->ep_userpwd[i] != NULL) SETOPT(CURLOPT_PROXYUSERPWD, eg->ep_userpwd[i]);
  }
  int k = eg->ep_store[i];
  if (k < 0) return 0;
  const struct store *st = &eg->stores[k];
  if (curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, use_store) != CURLE_OK) {
    /* a libcurl on another TLS library: let it load the same files itself
     * (per connection, the slow way; the environment case is OpenSSL's) */
    if (st->ca_file[0] != '\0') SETOPT(CURLOPT_CAINFO, st->ca_file);
    if (eg->ca_path[0] != '\0') SETOPT(CURLOPT_CAPATH, eg->ca_path);
    return 0;
  }
  /* no CA file for curl to load: the store is set per SSL_CTX. tls.ca_path
   * is named to curl so that it takes part in connection and TLS session
   * matching (a reload to another directory is new trust); curl adds it to
   * the store, which has it already (OpenSSL skips a directory it has). */
  const char *capath = eg->ca_path[0] != '\0' ? eg->ca_path : NULL;
  SETOPT(CURLOPT_CAINFO, NULL);
  SETOPT(CURLOPT_CAPATH, capath);
  SETOPT(CURLOPT_PROXY_CAINFO, NULL);
  SETOPT(CURLOPT_PROXY_CAPATH, capath);
  SETOPT(CURLOPT_SSL_CTX_DATA, (void *)st->x509);
  /* what tells connections of different trust apart (trust_blob); NOCOPY:
   * the generation pins EG, hence the bytes, for the transfer, and curl
   * copies them into each connection it makes */
  SETOPT(CURLOPT_CAINFO_BLOB, st->blob_text != NULL ? &st->blob : NULL);
  SETOPT(CURLOPT_PROXY_CAINFO_BLOB, st->blob_text != NULL ? &st->blob : NULL);
  /* never verify with a store libcurl kept from an earlier connection on
   * the same multi (7.87+ caches one, keyed by CURLOPT_CAINFO alone, NULL
   * for every store here): it would be another endpoint's, or an older
   * generation's */
  SETOPT(CURLOPT_CA_CACHE_TIMEOUT, 0L);
  return 0;
}

const char *qcc_egress_trust_source(const struct qcc_egress *eg,
                                    const struct qcc_tbl_endpoint *ep) {
  int64_t i = qcc_table_find_endpoint(eg->t, ep->stable_id);
  if (i < 0 || eg->ep_store[i] < 0) return "";
  return eg->stores[eg->ep_store[i]].source;
}

const char *qcc_egress_noproxy(const struct qcc_egress *eg) { return eg->noproxy; }
