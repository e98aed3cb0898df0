/*
 * fcgi: the only code that touches libfcgi: the accept loop, the prefork
 * master, CGI mode, and turning requests and responses into bytes.
 */
#ifndef VCODE_FCGI_H
#define VCODE_FCGI_H

struct vc_config;

/*
 * fcgi_serve: accept loop on listen_fd until SIGTERM/SIGINT, or until it
 * has served max_requests requests (0: no limit); SIGUSR1 reopens the
 * request log. Returns the exit code: 0 for either end.
 */
int	 fcgi_serve(const struct vc_config *, int listen_fd, int max_requests);
/* fcgi_cgi: serves the one CGI request in environ and stdin; exit code. */
int	 fcgi_cgi(const struct vc_config *);
/*
 * fcgi_master: binds listen (or, listen_fd >= 0, runs on that socket, as
 * systemd hands one over), runs the prefork pool until SIGTERM/SIGINT;
 * SIGHUP loads path (NULL: defaults and environment) again into cfg.
 * Returns the exit code.
 */
int	 fcgi_master(struct vc_config *, const char *path, int daemonize,
	    const char *pidfile, int listen_fd);

#endif /* VCODE_FCGI_H */
