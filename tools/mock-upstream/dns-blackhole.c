/* dns-blackhole: a DNS server that reads every query and never answers, the
 * resolver failure that leaves a client waiting for its own timeout. Used by
 * tests/integration/t76-storms-dns.sh inside a private network namespace.
 *
 *   dns-blackhole --listen HOST:PORT [--log FILE]
 *
 * --log gets `listening` once the socket is bound, then one line per query:
 * `query NAME` (the question's name, or `?` when it cannot be read). SIGTERM/SIGINT exit 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The first question's name as dotted text; -1 when it is malformed. */
static int qname(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t i = 12, o = 0; /* after the fixed header */
	while (i < n && p[i] != 0) {
		size_t l = p[i++];
		if (l > 63 || i + l > n || o + l + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (size_t k = 0; k < l; k++) {
			unsigned char ch = p[i + k];
			out[o++] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
		}
		i += l;
	}
	if (i >= n)
		return -1;
	out[o] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen_arg = NULL, *log_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_arg = argv[++i];
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			log_path = argv[++i];
		else {
			fprintf(stderr, "usage: dns-blackhole --listen HOST:PORT [--log FILE]\n");
			return 2;
		}
	}
	if (listen_arg == NULL) {
		fprintf(stderr, "usage: dns-blackhole --listen HOST:PORT [--log FILE]\n");
		return 2;
	}
	char host[256];
	const char *colon = strrchr(listen_arg, ':');
	if (colon == NULL || (size_t)(colon - listen_arg) >= sizeof host) {
		fprintf(stderr, "dns-blackhole: --listen wants HOST:PORT\n");
		return 2;
	}
	memcpy(host, listen_arg, (size_t)(colon - listen_arg));
	host[colon - listen_arg] = '\0';
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "dns-blackhole: %s: %s\n", listen_arg, gai_strerror(rc));
		return 2;
	}
	int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		fprintf(stderr, "dns-blackhole: bind %s: %s\n", listen_arg, strerror(errno));
		freeaddrinfo(res);
		return 1;
	}
	freeaddrinfo(res);
	FILE *log = NULL;
	if (log_path != NULL) {
		log = fopen(log_path, "a");
		if (log == NULL) {
			fprintf(stderr, "dns-blackhole: %s: %s\n", log_path, strerror(errno));
			return 1;
		}
		setvbuf(log, NULL, _IOLBF, 0);
		/* tells a test the socket is bound: a query sent before that gets
		 * port-unreachable and fails fast instead of hanging */
		fprintf(log, "listening\n");
	}
	/* no SA_RESTART: the signal must interrupt recvfrom */
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	unsigned char buf[4096];
	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "dns-blackhole: recv: %s\n", strerror(errno));
			break;
		}
		char name[256];
		if (log != NULL)
			fprintf(log, "query %s\n", qname(buf, (size_t)n, name, sizeof name) == 0 ? name : "?");
	}
	if (log != NULL)
		fclose(log);
	close(fd);
	return 0;
}
