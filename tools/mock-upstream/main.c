/* mock-upstream: an Anthropic Messages API stand-in for tests, the
 * benchmark and the demo. See tools/mock-upstream/README.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mock-upstream --listen HOST:PORT --name NAME [--key KEY | --key-env VAR]\n"
		"         [--log FILE|-] [--fault SPEC] [--events N] [--event-delay-ms MS]\n"
		"         [--port-file FILE] [--echo-headers] [--deterministic]\n"
		"         [--tls-cert PEM --tls-key PEM] [--path-prefix /api/anthropic]\n"
		"         [--idle-close-s S] [--close-every N] [--cache-usage W5M,W1H,READ]\n"
		"  PORT 0 picks a free port; --port-file receives it.\n"
		"  SPEC: ok | hang | slow[&delay_ms=MS] | reset_mid_stream[&after=N]\n"
		"        | close_before_headers | status=N[&retry_after=S][&message=TEXT]\n"
		"        | error_body | stall[&after=N] | sse_error[&after=N]\n"
		"        | slow_head[&delay_ms=MS], each [&count=N][&for_ms=MS]\n"
		"  Control: POST /_control/fault (body SPEC), GET /_control/stats,\n"
		"           POST /_control/reset\n");
}

static int parse_listen(const char *arg, struct mock_opts *o, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(arg, ':');
	if (colon == NULL) {
		snprintf(err, errlen, "--listen wants HOST:PORT, got '%s'", arg);
		return -1;
	}
	size_t hl = (size_t)(colon - arg);
	if (hl >= sizeof host) {
		snprintf(err, errlen, "--listen host too long");
		return -1;
	}
	memcpy(host, arg, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "--listen %s: %s", arg, gai_strerror(rc));
		return -1;
	}
	memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
	o->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Written via rename so a polling reader never sees a partial number. */
static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return -1;
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "mock-upstream: %s must be a number in %ld..%ld\n", what, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct mock_opts o;
	memset(&o, 0, sizeof o);
	mock_fault_clear(&o.fault);
	o.events = 56;
	const char *listen_arg = NULL, *port_file = NULL, *key_env = NULL;
	char err[512];
	enum { O_KEY_ENV = 256, O_EVENTS, O_DELAY, O_PORT_FILE, O_ECHO, O_DET,
	       O_TLS_CERT, O_TLS_KEY, O_PREFIX, O_IDLE, O_EVERY, O_CACHE };
	static const struct option lo[] = {
		{"listen", required_argument, NULL, 'l'},
		{"name", required_argument, NULL, 'n'},
		{"key", required_argument, NULL, 'k'},
		{"key-env", required_argument, NULL, O_KEY_ENV},
		{"log", required_argument, NULL, 'L'},
		{"fault", required_argument, NULL, 'f'},
		{"events", required_argument, NULL, O_EVENTS},
		{"event-delay-ms", required_argument, NULL, O_DELAY},
		{"port-file", required_argument, NULL, O_PORT_FILE},
		{"echo-headers", no_argument, NULL, O_ECHO},
		{"deterministic", no_argument, NULL, O_DET},
		{"tls-cert", required_argument, NULL, O_TLS_CERT},
		{"tls-key", required_argument, NULL, O_TLS_KEY},
		{"path-prefix", required_argument, NULL, O_PREFIX},
		{"idle-close-s", required_argument, NULL, O_IDLE},
		{"close-every", required_argument, NULL, O_EVERY},
		{"cache-usage", required_argument, NULL, O_CACHE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	for (;;) {
		int ch = getopt_long(argc, argv, "l:n:k:L:f:h", lo, NULL);
		if (ch == -1)
			break;
		switch (ch) {
		case 'l': listen_arg = optarg; break;
		case 'n': o.name = optarg; break;
		case 'k': o.key = optarg; break;
		case O_KEY_ENV: key_env = optarg; break;
		case 'L': o.log_path = optarg; break;
		case 'f':
			if (mock_fault_parse(optarg, strlen(optarg), &o.fault, err, sizeof err) != 0) {
				fprintf(stderr, "mock-upstream: --fault: %s\n", err);
				return 2;
			}
			break;
		case O_EVENTS: o.events = (int)parse_num(optarg, 7, 100000, "--events"); break;
		case O_DELAY: o.event_delay_ms = (int)parse_num(optarg, 0, 600000, "--event-delay-ms"); break;
		case O_PORT_FILE: port_file = optarg; break;
		case O_ECHO: o.echo_headers = true; break;
		case O_DET: o.deterministic = true; break;
		case O_TLS_CERT: o.tls_cert = optarg; break;
		case O_TLS_KEY: o.tls_key = optarg; break;
		case O_PREFIX: o.path_prefix = optarg; break;
		case O_IDLE: o.idle_close_s = (int)parse_num(optarg, 0, 86400, "--idle-close-s"); break;
		case O_EVERY: o.close_every = (int)parse_num(optarg, 0, 1000000, "--close-every"); break;
		case O_CACHE:
			if (sscanf(optarg, "%ld,%ld,%ld", &o.cache_5m, &o.cache_1h, &o.cache_read) != 3 ||
			    o.cache_5m < 0 || o.cache_1h < 0 || o.cache_read < 0) {
				fprintf(stderr, "mock-upstream: --cache-usage wants W5M,W1H,READ\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || listen_arg == NULL) {
		usage(stderr);
		return 2;
	}
	if (o.name == NULL)
		o.name = "mock";
	if (o.key != NULL && key_env != NULL) {
		fprintf(stderr, "mock-upstream: give --key or --key-env, not both\n");
		return 2;
	}
	if ((o.tls_cert == NULL) != (o.tls_key == NULL)) {
		fprintf(stderr, "mock-upstream: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (key_env != NULL) {
		o.key = getenv(key_env);
		if (o.key == NULL || o.key[0] == '\0') {
			/* name the variable, never a value */
			fprintf(stderr, "mock-upstream: --key-env %s: variable is not set\n", key_env);
			return 2;
		}
	}
	if (parse_listen(listen_arg, &o, err, sizeof err) != 0) {
		fprintf(stderr, "mock-upstream: %s\n", err);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct mock_server *s = mock_server_new(loop, &o, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "mock-upstream: %s: %s\n", listen_arg, err);
		return 1;
	}
	if (port_file != NULL && write_port_file(port_file, mock_server_port(s)) != 0) {
		fprintf(stderr, "mock-upstream: cannot write %s: %s\n", port_file, strerror(errno));
		mock_server_free(&s);
		return 1;
	}
	ev_signal sterm, sint;
	ev_signal_init(&sterm, on_stop, SIGTERM);
	ev_signal_init(&sint, on_stop, SIGINT);
	ev_signal_start(loop, &sterm);
	ev_signal_start(loop, &sint);
	ev_run(loop, 0);
	mock_server_free(&s);
	ev_loop_destroy(loop);
	return 0;
}
