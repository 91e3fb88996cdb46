/*
 * bridge_from_cpp.cpp - edgesentry_bridge.h consumed from C++: the header's
 * extern "C" block must give C linkage (this links against the C library)
 * and the layout must be the same as seen from C.
 */
#include "edgesentry_bridge.h"

#include <cstddef>
#include <cstdio>
#include <cstring>

static_assert(sizeof(EdsAuditRecord) == 912, "size");
static_assert(alignof(EdsAuditRecord) == 8, "alignment");
static_assert(offsetof(EdsAuditRecord, prev_record_hash) == 112, "prev_record_hash");
static_assert(offsetof(EdsAuditRecord, object_ref) == 400, "object_ref");

int main()
{
	uint8_t sk[32], pk[32], hash[32];
	EdsAuditRecord r;
	const char *payload = "from C++";
	if (eds_keygen(sk, pk) != EDS_OK ||
	    eds_sign_record("cpp-01", 1, 0, reinterpret_cast<const uint8_t *>(payload),
	                    std::strlen(payload), nullptr, "ref", sk, &r) != EDS_OK ||
	    eds_record_hash(&r, hash) != EDS_OK || eds_verify_record(&r, pk) != 1 ||
	    eds_verify_chain(&r, 1) != EDS_OK || eds_verify_chain(nullptr, 1) != EDS_ERR_NULL_PTR ||
	    std::strlen(eds_last_error_message()) == 0) {
		std::fprintf(stderr, "bridge from C++: unexpected result (%s)\n",
		             eds_last_error_message());
		return 1;
	}
	std::printf("bridge from C++: ok\n");
	return 0;
}
