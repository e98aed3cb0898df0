/*
 * nothing.c: the do-nothing FastCGI responder that make bench sets the
 * captcha route against (tests/bench/fcgi.sh). It answers every request
 * with the same 1 KiB body through libfcgi's own accept loop, as a
 * FastCGI program that does no work would: what the pool, nginx and the
 * sockets cost on their own.
 *
 *   nothing		under spawn-fcgi (the socket on fd 0)
 */
#include <string.h>

#include <fcgiapp.h>

#define BODY_BYTES	1024

int
main(void)
{
	static char	 body[BODY_BYTES];
	FCGX_Request	 rq;

	memset(body, 'x', sizeof(body));
	if (FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&rq) >= 0) {
		FCGX_FPrintF(rq.out, "Status: 200 OK\r\n"
		    "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %d\r\n\r\n", BODY_BYTES);
		FCGX_PutStr(body, sizeof(body), rq.out);
		FCGX_Finish_r(&rq);
	}
	return 0;
}
