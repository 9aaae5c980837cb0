/* `qccc endpoint test ID`: one request from qccc itself (libcurl) to an
 * endpoint of the config, no qcc-run needed. It resolves the key reference
 * as qcc-run does (env variable, or a file of at most 16 KiB with trailing
 * whitespace cut, or a literal; control characters refused), uses the
 * endpoint's TLS trust (ca_file, else tls.ca_file; tls.ca_path) and forward
 * proxy (proxy, proxy_credentials_env), asks GET /v1/models and prints one
 * verdict line: ok / FAILED, HTTP status, latency, model count. The key never
 * appears in the output; an upstream message that echoes it is redacted.
 *
 * Exit: 0 the endpoint answered 2xx, 1 it did not (or its key does not
 * resolve), 2 usage, or the config does not load / has no such endpoint. */
#ifndef QCC_COMPILER_PROBECMD_H
#define QCC_COMPILER_PROBECMD_H

/* ARGV[0] is "endpoint", ARGV[1] "test". */
int qccc_cmd_endpoint_test(int argc, char **argv);

/* The key of a reference, resolved by qcc-run's rules (schema/keyref.h).
 * Returns the key (malloc'd, wipe and free it) or NULL with WHY set (no
 * secret in it). */
char *qccc_key_resolve(int kind, const char *value, char *why, unsigned long why_cap);

#endif
