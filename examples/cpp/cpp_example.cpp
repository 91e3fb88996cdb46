/*
 * cpp_example.cpp - the native API through the C++17 wrapper
 * edgesentry/edgesentry.hpp: keys, a signed 3-record chain, JSON round trip,
 * chain verification, tamper detection and errors as exceptions.  Every
 * result is checked; the exit status is 0 only if all checks pass.
 */
#include <cstdio>
#include <string>
#include <vector>

#include "edgesentry/edgesentry.hpp"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,      \
			             #cond);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static std::vector<eds::Record> build_chain(const eds::SecretKey &sk)
{
	const char *readings[] = {"check=door,status=ok", "check=vibration,rms=0.18",
	                          "check=brake,response_ms=120"};
	std::vector<eds::Record> chain;
	eds::Hash prev{};
	for (std::uint64_t i = 0; i < 3; i++) {
		eds::Record r("lift-01", i + 1, 1700000000000ULL + 60000 * i, readings[i],
		              i == 0 ? nullptr : &prev,
		              "lift-01/inspection-" + std::to_string(i + 1));
		r.sign(sk);
		prev = r.hash();
		chain.push_back(r);
	}
	return chain;
}

static void check_keys()
{
	auto sk = eds::SecretKey::generate();
	auto pk = sk.public_key();
	CHECK(eds::PublicKey::from_hex(pk.hex()) == pk);
	CHECK(eds::SecretKey::generate().public_key() != pk);
	/* Moving a key wipes the source. */
	eds::SecretKey moved = std::move(sk);
	bool wiped = true;
	for (auto b : sk.raw().bytes) // NOLINT(bugprone-use-after-move): checking the wipe
		wiped = wiped && b == 0;
	CHECK(wiped);
	CHECK(moved.public_key() == pk);
}

static void check_chain(const eds::SecretKey &sk)
{
	auto chain = build_chain(sk);
	auto pk = sk.public_key();
	for (const auto &r : chain)
		CHECK(r.verify(pk));
	/* JSON round trip keeps the record exactly. */
	auto back = eds::Record::from_json(chain[1].to_json());
	CHECK(back.hash() == chain[1].hash());
	CHECK(back.device_id() == "lift-01" && back.sequence() == 2);

	eds::ChainVerifier v(&pk);
	for (const auto &r : chain)
		CHECK(v.add(r));
	CHECK(v.valid());
	CHECK(v.summary().signatures_checked == 3);
	std::printf("chain of 3 signed records: valid, last hash %s\n",
	            eds::to_hex(chain[2].hash()).c_str());

	/* A record changed after signing fails its signature... */
	eds_record raw = chain[1].raw();
	raw.timestamp_ms += 1;
	eds::Record changed(raw);
	CHECK(!changed.verify(pk));
	/* ... and the chain verifier reports it. */
	eds::ChainVerifier v2(&pk);
	CHECK(v2.add(chain[0]));
	CHECK(!v2.add(changed));
	CHECK(!v2.valid());
	auto f = v2.failures();
	CHECK(f.size() == 1 && f[0].index == 1 && f[0].reason == EDS_E_SIGNATURE);
	std::printf("changed record detected: %s\n", f.empty() ? "?" : f[0].message);

	/* Without a key, a dropped record still breaks the links. */
	eds::ChainVerifier links;
	CHECK(links.add(chain[0]));
	CHECK(!links.add(chain[2]));
}

static void check_errors()
{
	bool thrown = false;
	try {
		eds::Record bad("no spaces allowed", 1, 0, "x", nullptr, "");
	} catch (const eds::Error &e) {
		thrown = e.status() == EDS_E_FIELD &&
		         std::string(e.what()).find("device_id") != std::string::npos;
	}
	CHECK(thrown);
	thrown = false;
	try {
		eds::PublicKey::from_hex("not hex");
	} catch (const eds::Error &e) {
		thrown = e.status() == EDS_E_MALFORMED;
	}
	CHECK(thrown);
	thrown = false;
	try {
		eds::Record::from_json("{\"format\":\"ESR1\"}");
	} catch (const eds::Error &e) {
		thrown = e.status() == EDS_E_FIELD || e.status() == EDS_E_MALFORMED;
	}
	CHECK(thrown);
}

int main()
{
	try {
		eds::init();
		check_keys();
		auto sk = eds::SecretKey::generate();
		check_chain(sk);
		check_errors();
	} catch (const eds::Error &e) {
		std::fprintf(stderr, "unexpected error: %s\n", e.what());
		return 1;
	}
	if (failures != 0) {
		std::printf("%d check(s) FAILED\n", failures);
		return 1;
	}
	std::printf("all checks passed\n");
	return 0;
}
