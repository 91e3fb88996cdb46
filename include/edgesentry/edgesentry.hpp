/*
 * edgesentry/edgesentry.hpp - a small header-only C++17 wrapper over the
 * native C API (edgesentry.h): RAII for keys and chain verifiers, value
 * types for records, the device agent, std::string / std::array instead
 * of buffers.
 *
 * Errors: a call that cannot do its job (bad argument, malformed input,
 * unreadable file, unusable key) throws eds::Error, which carries the
 * eds_status and the library's one-line detail.  Verification OUTCOMES are
 * not errors and never throw: Record::verify and ChainVerifier::add return
 * false for a bad signature or a broken chain.  Exceptions fit because
 * constructors (SecretKey::load, Record::from_json) have no other way to
 * fail, and a failed check stays an ordinary value the caller must look at.
 *
 * Call eds::init() once before anything else.  Nothing here is thread-safe
 * per object; distinct objects may be used from distinct threads.
 *
 *   eds::init();
 *   auto sk = eds::SecretKey::generate();
 *   eds::Record r("lift-01", 1, now_ms, "temperature=40", nullptr, "lift-01/1.bin");
 *   r.sign(sk);
 *   bool ok = r.verify(sk.public_key());
 */
#ifndef EDGESENTRY_EDGESENTRY_HPP
#define EDGESENTRY_EDGESENTRY_HPP

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "edgesentry/edgesentry.h"

namespace eds
{

/** A failed call: status() is the eds_status, what() the library's detail. */
class Error : public std::runtime_error
{
      public:
	Error(eds_status status, const std::string &what)
	    : std::runtime_error(what), status_(status)
	{
	}
	eds_status status() const noexcept
	{
		return status_;
	}

      private:
	eds_status status_;
};

namespace detail
{
/* Throw for any status but EDS_OK, with "context: detail". */
inline void check(eds_status st, const char *context)
{
	if (st == EDS_STATUS_OK)
		return;
	const char *detail = eds_last_error();
	throw Error(st,
	            std::string(context) + ": " + (detail[0] != '\0' ? detail : eds_strerror(st)));
}
} // namespace detail

/** Start the library (libsodium); cheap after the first call. */
inline void init()
{
	detail::check(eds_init(), "eds::init");
}

using Hash = std::array<std::uint8_t, EDS_HASH_LEN>;

/** Lowercase hex of any byte array. */
template <std::size_t N> inline std::string to_hex(const std::array<std::uint8_t, N> &bytes)
{
	std::string out(2 * N + 1, '\0');
	eds_hex_encode(out.data(), bytes.data(), N);
	out.pop_back();
	return out;
}

class PublicKey
{
      public:
	/** 64 hex characters. */
	static PublicKey from_hex(std::string_view hex)
	{
		PublicKey k;
		detail::check(eds_public_key_from_hex(&k.key_, hex.data(), hex.size()),
		              "eds::PublicKey::from_hex");
		return k;
	}
	/** Hex, or the path of a public key, secret key or edgesentry-rs key file. */
	static PublicKey load(const std::string &spec)
	{
		PublicKey k;
		detail::check(eds_public_key_load(&k.key_, spec.c_str()), "eds::PublicKey::load");
		return k;
	}
	explicit PublicKey(const eds_public_key &raw) : key_(raw)
	{
	}

	std::string hex() const
	{
		char buf[65];
		eds_public_key_to_hex(&key_, buf);
		return buf;
	}
	const eds_public_key &raw() const noexcept
	{
		return key_;
	}
	bool operator==(const PublicKey &o) const noexcept
	{
		return std::equal(std::begin(key_.bytes), std::end(key_.bytes),
		                  std::begin(o.key_.bytes));
	}
	bool operator!=(const PublicKey &o) const noexcept
	{
		return !(*this == o);
	}

      private:
	PublicKey() = default;
	eds_public_key key_{};
};

/** A device secret key: move-only, wiped when destroyed or moved from. */
class SecretKey
{
      public:
	static SecretKey generate()
	{
		SecretKey k;
		detail::check(eds_secret_key_generate(&k.key_), "eds::SecretKey::generate");
		return k;
	}
	static SecretKey from_seed(const std::array<std::uint8_t, 32> &seed)
	{
		SecretKey k;
		detail::check(eds_secret_key_from_seed(&k.key_, seed.data()),
		              "eds::SecretKey::from_seed");
		return k;
	}
	/** PKCS#8 PEM or edgesentry-rs key JSON; refuses files others can read. */
	static SecretKey load(const std::string &path)
	{
		SecretKey k;
		detail::check(eds_secret_key_load(&k.key_, path.c_str()), "eds::SecretKey::load");
		return k;
	}
	/** Write PKCS#8 PEM to a new file (mode 0600; never overwrites). */
	void save(const std::string &path) const
	{
		detail::check(eds_secret_key_save(&key_, path.c_str()), "eds::SecretKey::save");
	}

	~SecretKey()
	{
		eds_secret_key_wipe(&key_);
	}
	SecretKey(const SecretKey &) = delete;
	SecretKey &operator=(const SecretKey &) = delete;
	SecretKey(SecretKey &&o) noexcept : key_(o.key_)
	{
		eds_secret_key_wipe(&o.key_);
	}
	SecretKey &operator=(SecretKey &&o) noexcept
	{
		if (this != &o) {
			key_ = o.key_;
			eds_secret_key_wipe(&o.key_);
		}
		return *this;
	}

	PublicKey public_key() const
	{
		eds_public_key pk;
		eds_secret_key_public(&key_, &pk);
		return PublicKey(pk);
	}
	const eds_secret_key &raw() const noexcept
	{
		return key_;
	}

      private:
	SecretKey() = default;
	eds_secret_key key_{};
};

/** One ESR1 record (FORMAT.md 1), a plain value. */
class Record
{
      public:
	/** Unsigned record over payload; prev nullptr means the zero hash (sequence 1). */
	Record(const std::string &device_id, std::uint64_t sequence, std::uint64_t timestamp_ms,
	       std::string_view payload, const Hash *prev, const std::string &object_ref)
	{
		detail::check(
		    eds_record_init(&r_, device_id.c_str(), sequence, timestamp_ms,
		                    reinterpret_cast<const std::uint8_t *>(payload.data()),
		                    payload.size(), prev != nullptr ? prev->data() : nullptr,
		                    object_ref.c_str()),
		    "eds::Record");
	}
	explicit Record(const eds_record &raw) : r_(raw)
	{
	}

	/** Parse one record JSON object (FORMAT.md 1.4). */
	static Record from_json(std::string_view json)
	{
		eds_record r;
		detail::check(eds_record_from_json(&r, json.data(), json.size()),
		              "eds::Record::from_json");
		return Record(r);
	}

	void sign(const SecretKey &sk)
	{
		detail::check(eds_record_sign(&r_, &sk.raw()), "eds::Record::sign");
	}

	/** true: the signature is valid for pk; false: it is not.  Throws for an invalid record. */
	bool verify(const PublicKey &pk) const
	{
		eds_status st = eds_record_verify(&r_, &pk.raw());
		if (st == EDS_E_SIGNATURE)
			return false;
		detail::check(st, "eds::Record::verify");
		return true;
	}

	Hash hash() const
	{
		Hash h;
		detail::check(eds_record_compute_hash(&r_, h.data()), "eds::Record::hash");
		return h;
	}

	std::string to_json() const
	{
		std::string buf(EDS_RECORD_JSON_MAX, '\0');
		std::size_t len = 0;
		detail::check(eds_record_to_json(&r_, buf.data(), buf.size(), &len),
		              "eds::Record::to_json");
		buf.resize(len);
		return buf;
	}

	std::string device_id() const
	{
		return r_.device_id;
	}
	std::uint64_t sequence() const noexcept
	{
		return r_.sequence;
	}
	std::uint64_t timestamp_ms() const noexcept
	{
		return r_.timestamp_ms;
	}
	std::uint64_t payload_size() const noexcept
	{
		return r_.payload_size;
	}
	std::string object_ref() const
	{
		return r_.object_ref;
	}
	const eds_record &raw() const noexcept
	{
		return r_;
	}

      private:
	eds_record r_{};
};

/** Streaming chain verification (chain.h); owns its C verifier. */
class ChainVerifier
{
      public:
	/** Links only, or signatures with one public key; optionally a payload directory. */
	explicit ChainVerifier(const PublicKey *pk = nullptr, const std::string &payload_dir = "")
	    : key_(pk != nullptr ? std::make_unique<eds_public_key>(pk->raw()) : nullptr)
	{
		eds_chain_options opts{};
		opts.public_key = key_.get();
		opts.payload_dir = payload_dir.empty() ? nullptr : payload_dir.c_str();
		eds_chain_verifier *v = nullptr;
		detail::check(eds_chain_verifier_new(&v, &opts), "eds::ChainVerifier");
		v_.reset(v);
	}

	/**
	 * Feed the next record: true when it extends its device's chain, false
	 * when it fails (see failures()).  Throws when the verifier cannot go
	 * on (out of memory, too many devices).
	 */
	bool add(const Record &r)
	{
		eds_status st = eds_chain_verifier_add(v_.get(), &r.raw());
		if (st == EDS_E_NOMEM || st == EDS_E_LIMIT || st == EDS_E_ARG)
			detail::check(st, "eds::ChainVerifier::add");
		return st == EDS_STATUS_OK;
	}

	eds_chain_summary summary() const
	{
		eds_chain_summary s;
		eds_chain_verifier_summary(v_.get(), &s);
		return s;
	}

	/** The first failure of each failed device, in input order. */
	std::vector<eds_chain_failure> failures() const
	{
		const eds_chain_failure *list = nullptr;
		std::size_t n = eds_chain_verifier_failures(v_.get(), &list);
		return std::vector<eds_chain_failure>(list, list + n);
	}

	/** true when no device has failed so far. */
	bool valid() const
	{
		return summary().devices_failed == 0;
	}

      private:
	struct Free {
		void operator()(eds_chain_verifier *v) const noexcept
		{
			eds_chain_verifier_free(v);
		}
	};
	/* The C verifier borrows the key: keep it at a fixed address across moves. */
	std::unique_ptr<eds_public_key> key_;
	std::unique_ptr<eds_chain_verifier, Free> v_;
};

/**
 * The device agent (agent.h): signs readings into the device's chain and
 * keeps them in a crash-safe queue; forward() sends the queue to an ingest
 * server on a background thread.  Owns its C agent (closed on destruction).
 */
class Agent
{
      public:
	/** Open (or create) the SQLite state in state_dir for device_id, signing with key_file. */
	Agent(const std::string &state_dir, const std::string &key_file,
	      const std::string &device_id, eds_agent_options opts = defaults())
	{
		eds_signer signer{};
		detail::check(eds_signer_from_key_file(&signer, key_file.c_str()), "eds::Agent");
		opts.device_id = device_id.c_str();
		eds_agent *a = nullptr;
		eds_status st = eds_agent_open(&a, state_dir.c_str(), &signer, &opts);
		if (st != EDS_STATUS_OK)
			eds_signer_close(&signer); /* ownership moves only on success */
		detail::check(st, "eds::Agent");
		a_.reset(a);
	}

	static eds_agent_options defaults()
	{
		eds_agent_options o;
		eds_agent_options_init(&o);
		return o;
	}

	/** Sign the next record over payload and queue it; durable when this returns. */
	Record record(std::string_view payload, const std::string &object_ref)
	{
		eds_record r;
		detail::check(eds_agent_record(
		                  a_.get(), reinterpret_cast<const std::uint8_t *>(payload.data()),
		                  payload.size(), object_ref.c_str(), &r),
		              "eds::Agent::record");
		return Record(r);
	}

	/** Start forwarding to an HTTP(S) ingest server (FORMAT.md 4) on a background thread. */
	void forward(const std::string &url, unsigned timeout_ms = 10000)
	{
		eds_http_transport_options ho{};
		ho.url = url.c_str();
		ho.timeout_ms = timeout_ms;
		eds_transport t{};
		detail::check(eds_transport_http(&t, &ho), "eds::Agent::forward");
		eds_forward_options fo;
		eds_forward_options_init(&fo);
		eds_status st = eds_agent_forward_start(a_.get(), &t, &fo);
		if (st != EDS_STATUS_OK)
			eds_transport_close(&t);
		detail::check(st, "eds::Agent::forward");
	}

	/** Wait until the server confirmed every queued record; false on timeout. */
	bool flush(unsigned timeout_ms)
	{
		return eds_agent_flush(a_.get(), timeout_ms) == EDS_STATUS_OK;
	}

	eds_agent_status status() const
	{
		eds_agent_status st;
		detail::check(eds_agent_get_status(a_.get(), &st), "eds::Agent::status");
		return st;
	}

      private:
	struct Close {
		void operator()(eds_agent *a) const noexcept
		{
			eds_agent_close(a);
		}
	};
	std::unique_ptr<eds_agent, Close> a_;
};

} // namespace eds

#endif
