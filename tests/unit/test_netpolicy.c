/*
 * test_netpolicy.c - allow-list parsing and matching (IPv4, IPv6, CIDR,
 * IPv4-mapped peers, deny by default, refusal of bad entries by name) and
 * the token-bucket rate limiter the server puts in front of the gate.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/ingest/ratelimit.h"
#include "edgesentry/edgesentry.h"
#include "edgesentry/netpolicy.h"

static eds_netpolicy *policy(const char *list)
{
	eds_netpolicy *p;
	assert_int_equal(eds_netpolicy_new(&p), EDS_OK);
	assert_int_equal(eds_netpolicy_add_list(p, list), EDS_OK);
	return p;
}

static void test_deny_by_default(void **state)
{
	(void)state;
	eds_netpolicy *p = policy("");
	assert_int_equal(eds_netpolicy_count(p), 0);
	assert_false(eds_netpolicy_allows_text(p, "127.0.0.1"));
	assert_false(eds_netpolicy_allows_text(p, "::1"));
	eds_netpolicy_free(p);
}

static void test_ipv4_cidr(void **state)
{
	(void)state;
	eds_netpolicy *p = policy("10.0.0.0/8, 192.168.1.7 ,172.16.0.0/12");
	assert_int_equal(eds_netpolicy_count(p), 3);
	assert_true(eds_netpolicy_allows_text(p, "10.255.1.2"));
	assert_false(eds_netpolicy_allows_text(p, "11.0.0.1"));
	assert_true(eds_netpolicy_allows_text(p, "192.168.1.7"));
	assert_false(eds_netpolicy_allows_text(p, "192.168.1.8"));
	assert_true(eds_netpolicy_allows_text(p, "172.31.255.255"));
	assert_false(eds_netpolicy_allows_text(p, "172.32.0.0"));
	/* Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6. */
	assert_true(eds_netpolicy_allows_text(p, "::ffff:10.1.2.3"));
	assert_false(eds_netpolicy_allows_text(p, "::ffff:11.1.2.3"));
	/* ...but an IPv6 address with the same low bits is not that peer. */
	assert_false(eds_netpolicy_allows_text(p, "::10.1.2.3"));
	assert_false(eds_netpolicy_allows_text(p, "not an address"));
	eds_netpolicy_free(p);
}

static void test_ipv6_and_sockaddr(void **state)
{
	(void)state;
	eds_netpolicy *p = policy("2001:db8::/32,::1,::ffff:192.0.2.0/120");
	assert_true(eds_netpolicy_allows_text(p, "2001:db8:ffff::1"));
	assert_false(eds_netpolicy_allows_text(p, "2001:db9::1"));
	assert_true(eds_netpolicy_allows_text(p, "::1"));
	assert_false(eds_netpolicy_allows_text(p, "::2"));
	assert_true(eds_netpolicy_allows_text(p, "192.0.2.200"));

	struct sockaddr_in s4 = {.sin_family = AF_INET};
	inet_pton(AF_INET, "192.0.2.9", &s4.sin_addr);
	assert_true(eds_netpolicy_allows(p, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "192.0.3.9", &s4.sin_addr);
	assert_false(eds_netpolicy_allows(p, (struct sockaddr *)&s4));
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "2001:db8::5", &s6.sin6_addr);
	assert_true(eds_netpolicy_allows(p, (struct sockaddr *)&s6));
	struct sockaddr other = {.sa_family = AF_UNIX};
	assert_false(eds_netpolicy_allows(p, &other));
	eds_netpolicy_free(p);

	p = policy("0.0.0.0/0,::/0");
	assert_true(eds_netpolicy_allows_text(p, "8.8.8.8"));
	assert_true(eds_netpolicy_allows_text(p, "fe80::1"));
	eds_netpolicy_free(p);
}

static void expect_refused(const char *list, const char *named)
{
	eds_netpolicy *p;
	assert_int_equal(eds_netpolicy_new(&p), EDS_OK);
	eds_status st = eds_netpolicy_add_list(p, list);
	assert_true(st == EDS_E_FIELD || st == EDS_E_LIMIT);
	if (strstr(eds_last_error(), named) == NULL)
		fail_msg("detail '%s' does not name '%s'", eds_last_error(), named);
	eds_netpolicy_free(p);
}

static void test_invalid_entries_named(void **state)
{
	(void)state;
	expect_refused("10.0.0.0/8,10.0.0.0/33", "10.0.0.0/33");
	expect_refused("1.2.3.4/", "1.2.3.4/");
	expect_refused("1.2.3.4/+8", "1.2.3.4/+8");
	expect_refused("1.2.3.4/08x", "1.2.3.4/08x");
	expect_refused("10.1.2.3/8", "10.1.2.3/8");
	expect_refused("::1/129", "::1/129");
	expect_refused("999.1.1.1", "999.1.1.1");
	expect_refused("example.com", "example.com");
	expect_refused("10.0.0.0/8,,", "''");
	expect_refused("10.0.0.0/8,", "''");
	expect_refused("10.0.0.0/8, ", "''");
	expect_refused(",10.0.0.0/8", "''");
	expect_refused("1.2.3", "1.2.3");
}

static void test_rate_limit_buckets(void **state)
{
	(void)state;
	eds_ratelimit *rl;
	const uint64_t s = 1000000000ULL;
	unsigned retry = 0;
	assert_int_equal(eds_ratelimit_new(&rl, 2.0, 3.0, 2), EDS_OK);
	for (int i = 0; i < 3; i++)
		assert_true(eds_ratelimit_take(rl, "a", 1, 10 * s, &retry));
	assert_false(eds_ratelimit_take(rl, "a", 1, 10 * s, &retry));
	assert_int_equal(retry, 1);
	/* Another key has its own bucket; half a second refills one token at 2/s. */
	assert_true(eds_ratelimit_take(rl, "b", 1, 10 * s, NULL));
	assert_true(eds_ratelimit_take(rl, "a", 1, 10 * s + s / 2, NULL));
	assert_false(eds_ratelimit_take(rl, "a", 1, 10 * s + s / 2, NULL));
	/* A cost above the burst is charged as a full bucket, so it can pass once. */
	assert_false(eds_ratelimit_take(rl, "a", 50, 10 * s + s / 2, &retry));
	assert_int_equal(retry, 2);
	/* The table is full (2 keys) and both buckets are in use: new keys fail closed. */
	assert_true(eds_ratelimit_take(rl, "b", 2, 10 * s + s / 2, NULL));
	assert_false(eds_ratelimit_take(rl, "c", 1, 10 * s + s / 2, &retry));
	/* Once buckets refill they are dropped to make room. */
	assert_true(eds_ratelimit_take(rl, "c", 1, 20 * s, NULL));
	assert_int_equal(eds_ratelimit_size(rl), 1);
	assert_true(eds_ratelimit_take(rl, "d", 50, 20 * s, NULL));
	eds_ratelimit_free(rl);
	assert_int_equal(eds_ratelimit_new(&rl, 0, 1, 1), EDS_E_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deny_by_default),    cmocka_unit_test(test_ipv4_cidr),
	    cmocka_unit_test(test_ipv6_and_sockaddr),  cmocka_unit_test(test_invalid_entries_named),
	    cmocka_unit_test(test_rate_limit_buckets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
