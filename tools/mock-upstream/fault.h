/* Fault specs: what the mock does wrong on purpose. The same syntax is used
 * by --fault and by the body of POST /_control/fault:
 *   ok | hang | slow[&delay_ms=MS] | reset_mid_stream[&after=N]
 *   | close_before_headers | status=N[&retry_after=S][&message=TEXT]
 *   | error_body[&message=TEXT] | stall[&after=N] | sse_error[&after=N]
 *   | slow_head[&delay_ms=MS]
 * each optionally followed by &count=N (apply to the next N requests, then
 * revert to ok) and/or &for_ms=MS (only for MS ms after it was set, then
 * ok). Words may also be given as kind=WORD. */
#ifndef QCC_MOCK_FAULT_H
#define QCC_MOCK_FAULT_H

#include <stddef.h>

enum mock_fault_kind {
	MOCK_FAULT_OK = 0,
	MOCK_FAULT_STATUS,
	MOCK_FAULT_HANG,
	MOCK_FAULT_SLOW,
	MOCK_FAULT_RESET_MID_STREAM,
	MOCK_FAULT_CLOSE_BEFORE_HEADERS,
	MOCK_FAULT_ERROR_BODY, /* 200 whose JSON body is an Anthropic error */
	MOCK_FAULT_STALL,      /* head (and `after` events), then silence */
	MOCK_FAULT_SSE_ERROR,  /* `after` events, then event: error, clean end */
	MOCK_FAULT_SLOW_HEAD,  /* nothing for delay_ms, then a normal answer */
};

struct mock_fault {
	enum mock_fault_kind kind;
	int status;      /* MOCK_FAULT_STATUS */
	int retry_after; /* seconds, 429/529; -1 = none */
	int delay_ms;    /* SLOW: pause between events; SLOW_HEAD: before the head */
	int after;       /* RESET_MID_STREAM: events before RST (-1 = half);
			  * STALL: events before the silence (-1 = 0);
			  * SSE_ERROR: events before the error (-1 = 1, message_start) */
	long count;      /* requests left; -1 = until changed */
	long for_ms;     /* active this long after being set; -1 = until changed */
	char message[200]; /* status: error.message of the body, "" = default;
			    * '+' in the spec stands for a space */
};

void mock_fault_clear(struct mock_fault *f);
/* Parses spec[0..len). Returns 0, or -1 with a message in err. */
int mock_fault_parse(const char *spec, size_t len, struct mock_fault *out,
		     char *err, size_t errlen);
/* A short text form for logs ("status=529", "hang", ...). */
void mock_fault_describe(const struct mock_fault *f, char *out, size_t outlen);
const char *mock_fault_kind_name(enum mock_fault_kind k);

#endif
