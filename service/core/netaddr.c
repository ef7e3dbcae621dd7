/*
 * netaddr.c: numeric IPv4/IPv6 addresses in lists (trusted_proxies) and the client address
 * named by X-Forwarded-For behind trusted proxies.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core_int.h"

/* The entry of a list separated by commas and blanks that starts at or after p; its length in
 * *len (0 at the end). */
static const char *
list_entry(const char *p, size_t *len)
{
	p += strspn(p, ", \t");
	*len = strcspn(p, ", \t");
	return p;
}

/* The bytes of the numeric address in the n bytes at s: AF_INET, AF_INET6, or 0 if it is none.
 * An IPv4-mapped IPv6 address counts as the IPv4 address it maps. */
static int
addr_parse(const char *s, size_t n, unsigned char out[16])
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	if (n == 0 || n >= sizeof(text))
		return 0;
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, text, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* ::ffff:a.b.c.d, as a dual-stack socket names an IPv4 peer */
		memcpy(out, a6.s6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(out, a6.s6_addr, 16);
	return AF_INET6;
}

int
netaddr_listed(const char *list, const char *s, size_t n)
{
	unsigned char a[16], b[16];
	int family = addr_parse(s, n, a);
	const char *p;
	size_t len;

	if (family == 0)
		return 0;
	for (p = list_entry(list, &len); len > 0; p = list_entry(p + len, &len))
		if (addr_parse(p, len, b) == family &&
		    memcmp(a, b, family == AF_INET ? 4 : 16) == 0)
			return 1;
	return 0;
}

int
netaddr_list_check(const char *list, char *err, size_t errsize)
{
	unsigned char b[16];
	const char *p;
	size_t len;

	for (p = list_entry(list, &len); len > 0; p = list_entry(p + len, &len)) {
		if (addr_parse(p, len, b) == 0) {
			snprintf(err, errsize, "'%.*s' is not a numeric IP address",
			         (int)(len > 64 ? 64 : len), p);
			return -1;
		}
	}
	return 0;
}

#define FORWARDED_MAX 16 /* hops of X-Forwarded-For looked at */

/* When the peer is a trusted proxy, the client is the nearest address of X-Forwarded-For
 * ("client, proxy1, proxy2", each hop appending its peer) that is not itself a trusted proxy;
 * an entry that is not an address stops the walk at the last trusted hop. */
void
netaddr_forwarded(const char *proxies, const char *xff, char *buf, size_t size)
{
	const char *at[FORWARDED_MAX];
	size_t len[FORWARDED_MAX], n = 0, l;
	unsigned char b[16];
	const char *p;

	for (p = list_entry(xff, &l); l > 0; p = list_entry(p + l, &l)) {
		if (n == FORWARDED_MAX) { /* keep the nearest hops */
			memmove(at, at + 1, sizeof(at[0]) * (FORWARDED_MAX - 1));
			memmove(len, len + 1, sizeof(len[0]) * (FORWARDED_MAX - 1));
			n--;
		}
		at[n] = p;
		len[n++] = l;
	}
	while (n > 0) {
		n--;
		if (addr_parse(at[n], len[n], b) == 0 || len[n] >= size)
			return;
		memcpy(buf, at[n], len[n]);
		buf[len[n]] = '\0';
		if (!netaddr_listed(proxies, at[n], len[n]))
			return;
	}
}


/* A network "address[/bits]" in the n bytes at s: its family (0 if it is none), address bytes
 * and prefix length (the whole address without /bits). */
static int
cidr_parse(const char *s, size_t n, unsigned char net[16], int *bits)
{
	const char *slash = memchr(s, '/', n);
	int family, max;
	size_t alen = slash ? (size_t)(slash - s) : n, i;
	long b = 0;

	family = addr_parse(s, alen, net);
	if (family == 0)
		return 0;
	max = family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		*bits = max;
		return family;
	}
	if (alen + 1 == n || n - alen - 1 > 3)
		return 0;
	for (i = alen + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		b = b * 10 + (s[i] - '0');
	}
	/* an IPv4-mapped network ::ffff:a.b.c.d/120 is the IPv4 network a.b.c.d/24 */
	if (family == AF_INET && memchr(s, ':', alen) != NULL)
		b -= 96;
	if (b < 0 || b > max)
		return 0;
	*bits = (int)b;
	return family;
}

/* 1 if the first bits bits of a and b are the same. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xFF << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int
netaddr_networks_check(const char *list, char *err, size_t errsize)
{
	unsigned char net[16];
	const char *p;
	size_t len;
	int bits;

	for (p = list_entry(list, &len); len > 0; p = list_entry(p + len, &len)) {
		if (cidr_parse(p, len, net, &bits) == 0) {
			snprintf(err, errsize,
			         "'%.*s' is not a network (a numeric address, or ADDRESS/BITS such as "
			         "10.1.0.0/16 or 2001:db8::/32)",
			         (int)(len > 64 ? 64 : len), p);
			return -1;
		}
	}
	return 0;
}

int
netaddr_in_networks(const char *list, const char *addr)
{
	unsigned char a[16], net[16];
	int family = addr_parse(addr, strlen(addr), a), bits, any = 0;
	const char *p;
	size_t len;

	for (p = list_entry(list, &len); len > 0; p = list_entry(p + len, &len)) {
		any = 1;
		if (family != 0 && cidr_parse(p, len, net, &bits) == family &&
		    prefix_equal(a, net, bits))
			return 1;
	}
	return !any;
}

#define RANGE_VALUE_MAX 1000000L /* largest value of a NETWORK=N entry */

/* Splits a NETWORK=N entry of len bytes at p: the network's length in *nlen and N in *value.
 * 0, or -1 when it has no "=" or N is not a decimal number up to RANGE_VALUE_MAX. */
static int
range_entry(const char *p, size_t len, size_t *nlen, long *value)
{
	const char *eq = memchr(p, '=', len);
	size_t i;
	long v = 0;

	if (eq == NULL || eq == p || (size_t)(eq - p) + 1 == len)
		return -1;
	for (i = (size_t)(eq - p) + 1; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || v > RANGE_VALUE_MAX)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v > RANGE_VALUE_MAX)
		return -1;
	*nlen = (size_t)(eq - p);
	*value = v;
	return 0;
}

int
netaddr_ranges_check(const char *list, char *err, size_t errsize)
{
	unsigned char net[16];
	const char *p;
	size_t len, nlen;
	long v;
	int bits;

	for (p = list_entry(list, &len); len > 0; p = list_entry(p + len, &len)) {
		if (range_entry(p, len, &nlen, &v) != 0 || cidr_parse(p, nlen, net, &bits) == 0) {
			snprintf(err, errsize,
			         "'%.*s' is not NETWORK=N (a numeric address or ADDRESS/BITS, '=', and "
			         "a number from 0 to %ld), e.g. 10.8.0.0/16=600",
			         (int)(len > 64 ? 64 : len), p, RANGE_VALUE_MAX);
			return -1;
		}
	}
	return 0;
}

int
netaddr_range_value(const char *list, const char *addr, long *value)
{
	unsigned char a[16], net[16];
	int family = addr_parse(addr, strlen(addr), a), bits, best = -1;
	const char *p;
	size_t len, nlen;
	long v;

	if (family == 0)
		return 0;
	for (p = list_entry(list, &len); len > 0; p = list_entry(p + len, &len)) {
		if (range_entry(p, len, &nlen, &v) != 0 || cidr_parse(p, nlen, net, &bits) != family ||
		    !prefix_equal(a, net, bits) || bits <= best)
			continue;
		best = bits; /* the most specific network wins */
		*value = v;
	}
	return best >= 0;
}
