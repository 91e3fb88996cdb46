/*
 * edgesentry/netpolicy.h - which network peers may talk to a server.
 *
 * Deny by default: an empty policy allows nobody.  Entries are IPv4 or IPv6
 * addresses or CIDR blocks ("10.0.0.0/8", "2001:db8::/32", "::1").  IPv4 is
 * kept internally as IPv4-mapped IPv6 (::ffff:a.b.c.d), so a peer arriving
 * on a dual-stack socket as ::ffff:10.1.2.3 matches the rule 10.0.0.0/8,
 * and a rule written as ::ffff:10.0.0.0/104 matches an IPv4 peer.
 *
 * A policy is immutable once built and may be shared between threads.
 */
#ifndef EDGESENTRY_NETPOLICY_H
#define EDGESENTRY_NETPOLICY_H

#include <stddef.h>
#include <sys/socket.h>

#include "edgesentry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most entries one policy holds. */
#define EDS_NETPOLICY_MAX 1024

typedef struct eds_netpolicy eds_netpolicy;

/** An empty (deny-all) policy.  Errors: EDS_E_ARG, EDS_E_NOMEM. */
eds_status eds_netpolicy_new(eds_netpolicy **out);

/**
 * Add one entry.  Refused with a detail naming the entry: not an address,
 * prefix not a decimal in 0..32 (IPv4) or 0..128 (IPv6), host bits set
 * below the prefix (a likely typo: "10.1.2.3/8"), more than
 * EDS_NETPOLICY_MAX entries.  Errors: EDS_E_ARG, EDS_E_FIELD, EDS_E_LIMIT.
 */
eds_status eds_netpolicy_add(eds_netpolicy *p, const char *entry);

/** Add a comma-separated list of entries (spaces around entries ignored); an
 * empty entry, also before the first or after the last comma, is refused.  A
 * list of no entry ("", spaces) adds nothing.  Errors as eds_netpolicy_add,
 * naming the first entry refused. */
eds_status eds_netpolicy_add_list(eds_netpolicy *p, const char *list);

/** Nonzero when the peer (AF_INET or AF_INET6) matches an entry; 0 otherwise. */
int eds_netpolicy_allows(const eds_netpolicy *p, const struct sockaddr *peer);

/** Like eds_netpolicy_allows for an address in text form; 0 for unparsable text. */
int eds_netpolicy_allows_text(const eds_netpolicy *p, const char *addr);

/** Number of entries. */
size_t eds_netpolicy_count(const eds_netpolicy *p);

/** Free.  NULL is ignored. */
void eds_netpolicy_free(eds_netpolicy *p);

#ifdef __cplusplus
}
#endif
#endif
