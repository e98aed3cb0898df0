/*
 * The parts of a request that handlers read: the query string's fields
 * (percent-decoded), the client's address (REMOTE_ADDR, or the walk
 * through X-Forwarded-For behind trusted proxies) and whether the direct
 * peer is this host.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
query_get(const char *query, const char *name, char *out, size_t outlen)
{
	const char	*p = query, *end;
	size_t		 nlen = strlen(name), o;
	int		 hi, lo;

	if (query == NULL)
		return 0;
	while (*p != '\0') {
		end = p + strcspn(p, "&");
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			for (o = 0, p += nlen + 1; p < end; p++) {
				if (o + 1 >= outlen)
					return -1;
				if (*p == '+')
					out[o++] = ' ';
				else if (*p != '%')
					out[o++] = *p;
				else {
					if (end - p < 3)
						return -1;
					hi = hexval((unsigned char)p[1]);
					lo = hi < 0 ? -1 :
					    hexval((unsigned char)p[2]);
					if (lo < 0 || (hi == 0 && lo == 0))
						return -1;
					out[o++] = (char)(hi << 4 | lo);
					p += 2;
				}
			}
			out[o] = '\0';
			return 1;
		}
		if ((size_t)(end - p) == nlen && strncmp(p, name, nlen) == 0) {
			out[0] = '\0';	/* "name" with no '=': empty */
			return 1;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return 0;
}

/*
 * addr_parse: reads the printable address s into b (16 bytes). AF_INET
 * with b's first 4 bytes for an IPv4 address and for an IPv4-mapped IPv6
 * one (the same address, however a server spells it), AF_INET6 with 16
 * bytes, or 0 when s is not an address.
 */
static int
addr_parse(const char *s, unsigned char *b)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	if (inet_pton(AF_INET, s, b) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, b) != 1)
		return 0;
	if (memcmp(b, mapped, sizeof(mapped)) != 0)
		return AF_INET6;
	memmove(b, b + sizeof(mapped), 4);
	return AF_INET;
}

/* 1 when addr (printable) is one of the configured trusted proxies. */
static int
trusted(const char *list, const char *addr)
{
	unsigned char	 a[16], b[16];
	char		 item[VC_IP_MAX];
	size_t		 n;
	int		 fa;

	if ((fa = addr_parse(addr, a)) == 0)
		return 0;
	while (*list != '\0') {
		list += strspn(list, " \t,");
		n = strcspn(list, " \t,");
		if (n == 0)
			break;
		if (n < sizeof(item)) {
			memcpy(item, list, n);
			item[n] = '\0';
			if (addr_parse(item, b) == fa &&
			    memcmp(a, b, fa == AF_INET ? 4 : 16) == 0)
				return 1;
		}
		list += n;
	}
	return 0;
}

/* 1 when s is a printable IPv4 or IPv6 address. */
static int
is_ip(const char *s)
{
	unsigned char	 b[16];

	return addr_parse(s, b) != 0;
}

int
peer_is_host(const char *addr, char *out, size_t outlen)
{
	static const struct {
		int		 af;
		unsigned char	 b[16];
	} host[] = {
		{ AF_INET, { 127, 0, 0, 1 } },
		{ AF_INET6, { [15] = 1 } },
	};
	unsigned char	 b[16];
	size_t		 i;
	int		 af;

	af = addr != NULL ? addr_parse(addr, b) : 0;
	if (af == 0 || inet_ntop(af, b, out, outlen) == NULL)
		snprintf(out, outlen, "none");
	for (i = 0; af != 0 && i < sizeof(host) / sizeof(host[0]); i++)
		if (host[i].af == af && memcmp(host[i].b, b,
		    af == AF_INET ? 4 : 16) == 0)
			return 1;
	return 0;
}

static void	 client_addr(const struct vc_config *,
		    const struct vc_request *, char *, size_t);

/*
 * canonical: the one spelling of an address that its counter is keyed on:
 * IPv4 dotted, IPv4-mapped IPv6 as IPv4, IPv6 cut to its first
 * ip6_prefix bits and written as inet_ntop(3) does, with "/N" (a client
 * with a /64 has 2^64 addresses, one counter). Anything else is copied.
 */
static void
canonical(const struct vc_config *cfg, const char *addr, char *out,
    size_t outlen)
{
	unsigned char	 b[16];
	char		 txt[INET6_ADDRSTRLEN];
	int		 af, bits = cfg->ip6_prefix, i;

	if ((af = addr_parse(addr, b)) == AF_INET6)
		for (i = 0; i < 16; i++, bits -= 8)
			b[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 :
			    (unsigned char)(0xff << (8 - bits));
	if (af == 0 || inet_ntop(af, b, txt, sizeof(txt)) == NULL)
		snprintf(out, outlen, "%s", addr);
	else if (af == AF_INET || cfg->ip6_prefix >= 128)
		snprintf(out, outlen, "%s", txt);
	else
		snprintf(out, outlen, "%s/%d", txt, cfg->ip6_prefix);
}

void
client_ip(const struct vc_config *cfg, const struct vc_request *req,
    char *out, size_t outlen)
{
	char	 raw[VC_IP_MAX];

	client_addr(cfg, req, raw, sizeof(raw));
	canonical(cfg, raw, out, outlen);
}

void
client_net(const char *ip, char *out, size_t outlen)
{
	unsigned char	 b[16];

	if (strchr(ip, '/') == NULL && addr_parse(ip, b) == AF_INET)
		snprintf(out, outlen, "%u.%u.%u.0/24", b[0], b[1], b[2]);
	else
		snprintf(out, outlen, "%s", ip);
}

static void
client_addr(const struct vc_config *cfg, const struct vc_request *req,
    char *out, size_t outlen)
{
	const char	*xff = req->forwarded_for, *end, *start;
	char		 hop[VC_IP_MAX];
	size_t		 n;

	snprintf(out, outlen, "%s", req->remote_addr != NULL &&
	    req->remote_addr[0] != '\0' ? req->remote_addr : "unknown");
	if (xff == NULL || cfg->trusted_proxies[0] == '\0' ||
	    !trusted(cfg->trusted_proxies, out))
		return;
	/* Walk X-Forwarded-For right to left past trusted hops. */
	end = xff + strlen(xff);
	while (end > xff) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		n = end - start;
		while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(hop))
			return;
		memcpy(hop, start, n);
		hop[n] = '\0';
		if (!is_ip(hop))
			return;		/* garbage: keep the last good hop */
		snprintf(out, outlen, "%s", hop);
		if (!trusted(cfg->trusted_proxies, hop))
			return;
		end = start;
		while (end > xff && end[-1] != ',')
			end--;
		if (end > xff)
			end--;		/* step over the comma */
	}
}
