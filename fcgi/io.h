/*
 * fcgi/io.h: inside fcgi/ only. One request is read and answered through a
 * small I/O table, so FastCGI (serve.c) and CGI (cgi.c) share request.c.
 */
#ifndef VCODE_FCGI_IO_H
#define VCODE_FCGI_IO_H

#include <stddef.h>

struct vc_ctx;

/* Where a request comes from and goes to. */
struct io {
	const char	*(*param)(void *, const char *);
	long		 (*read)(void *, char *, size_t);
	int		 (*write)(void *, const void *, size_t);
	void		 *arg;
};

/*
 * fcgi_request: reads one request's parameters and body through io, hands
 * it to core, writes the response, and frees and wipes what it read.
 */
void	 fcgi_request(struct vc_ctx *, const struct io *);

#endif /* VCODE_FCGI_IO_H */
