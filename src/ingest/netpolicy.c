/*
 * netpolicy.c - allow-list of IPv4/IPv6 addresses and CIDR blocks.
 *
 * Every rule is stored as a 128-bit IPv6 prefix, IPv4 rules in their
 * IPv4-mapped form, so one comparison serves both families and dual-stack
 * peers match IPv4 rules.  Lists are short; a linear scan is fastest.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/netpolicy.h"
#include "internal.h"

#define ENTRY_TEXT_MAX 64

typedef struct rule {
	uint8_t addr[16];
	unsigned bits;
} rule;

struct eds_netpolicy {
	size_t count;
	rule rules[EDS_NETPOLICY_MAX];
};

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

eds_status eds_netpolicy_new(eds_netpolicy **out)
{
	if (out == NULL)
		return eds_fail(EDS_E_ARG, "netpolicy: NULL argument");
	*out = calloc(1, sizeof **out);
	return *out ? EDS_OK : eds_fail(EDS_E_NOMEM, "netpolicy: out of memory");
}

void eds_netpolicy_free(eds_netpolicy *p)
{
	free(p);
}

size_t eds_netpolicy_count(const eds_netpolicy *p)
{
	return p ? p->count : 0;
}

/* Parse an address into its 16-byte form; *v4 tells the family. */
static int parse_addr(const char *text, uint8_t out[16], int *v4)
{
	struct in_addr a4;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		memcpy(out, v4_mapped_prefix, 12);
		memcpy(out + 12, &a4, 4);
		*v4 = 1;
		return 1;
	}
	*v4 = 0;
	return inet_pton(AF_INET6, text, out) == 1;
}

static int parse_bits(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (*s == '\0' || strlen(s) > 3)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return v <= max;
}

static int bit_at(const uint8_t a[16], unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static int host_bits_clear(const rule *r)
{
	for (unsigned i = r->bits; i < 128; i++)
		if (bit_at(r->addr, i))
			return 0;
	return 1;
}

eds_status eds_netpolicy_add(eds_netpolicy *p, const char *entry)
{
	if (p == NULL || entry == NULL)
		return eds_fail(EDS_E_ARG, "netpolicy: NULL argument");
	char text[ENTRY_TEXT_MAX];
	size_t n = strlen(entry);
	if (n == 0 || n >= sizeof text)
		return eds_fail(EDS_E_FIELD, "allow entry '%.64s': not an IP address or CIDR block",
		                entry);
	if (p->count == EDS_NETPOLICY_MAX)
		return eds_fail(EDS_E_LIMIT, "allow entry '%s': more than %d entries", entry,
		                EDS_NETPOLICY_MAX);
	memcpy(text, entry, n + 1);
	char *slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	rule r;
	int v4;
	if (!parse_addr(text, r.addr, &v4))
		return eds_fail(EDS_E_FIELD, "allow entry '%s': not an IP address", entry);
	unsigned max = v4 ? 32 : 128;
	r.bits = max;
	if (slash != NULL && !parse_bits(slash + 1, max, &r.bits))
		return eds_fail(EDS_E_FIELD, "allow entry '%s': prefix length must be 0..%u", entry,
		                max);
	if (v4)
		r.bits += 96;
	if (!host_bits_clear(&r))
		return eds_fail(EDS_E_FIELD,
		                "allow entry '%s': address has bits set below the prefix", entry);
	p->rules[p->count++] = r;
	return EDS_OK;
}

eds_status eds_netpolicy_add_list(eds_netpolicy *p, const char *list)
{
	if (p == NULL || list == NULL)
		return eds_fail(EDS_E_ARG, "netpolicy: NULL argument");
	if (list[strspn(list, " \t")] == '\0')
		return EDS_OK; /* no entry: deny everything */
	/* Every comma separates two entries, so "10.0.0.1," (a value missing after
	 * it, e.g. an unset variable) is refused as "10.0.0.1,,1.2.3.4" is. */
	for (;;) {
		while (*list == ' ' || *list == '\t')
			list++;
		size_t n = strcspn(list, ",");
		size_t end = n;
		while (end > 0 && (list[end - 1] == ' ' || list[end - 1] == '\t'))
			end--;
		char text[ENTRY_TEXT_MAX + 1];
		if (end > ENTRY_TEXT_MAX)
			return eds_fail(EDS_E_FIELD, "allow entry '%.*s...': too long", 32, list);
		memcpy(text, list, end);
		text[end] = '\0';
		eds_status st = eds_netpolicy_add(p, text);
		if (st != EDS_OK)
			return st;
		list += n;
		if (*list != ',')
			return EDS_OK;
		list++;
	}
}

static int matches(const rule *r, const uint8_t a[16])
{
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(r->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (r->addr[full] & mask) == (a[full] & mask);
}

static int allows16(const eds_netpolicy *p, const uint8_t a[16])
{
	for (size_t i = 0; i < p->count; i++)
		if (matches(&p->rules[i], a))
			return 1;
	return 0;
}

int eds_netpolicy_allows(const eds_netpolicy *p, const struct sockaddr *peer)
{
	uint8_t a[16];
	if (p == NULL || peer == NULL)
		return 0;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)peer;
		memcpy(a, v4_mapped_prefix, 12);
		memcpy(a + 12, &s4->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)peer;
		memcpy(a, &s6->sin6_addr, 16);
	} else {
		return 0;
	}
	return allows16(p, a);
}

int eds_netpolicy_allows_text(const eds_netpolicy *p, const char *addr)
{
	uint8_t a[16];
	int v4;
	if (p == NULL || addr == NULL || !parse_addr(addr, a, &v4))
		return 0;
	return allows16(p, a);
}
