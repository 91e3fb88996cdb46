/*
 * manifest.c - update manifests: field rules, canonical bytes, signing and
 * the strict JSON carrier (docs/update.md).
 */
#include <string.h>

#include "edgesentry/blake3.h"
#include "edgesentry/record.h"
#include "internal.h"
#include "record_internal.h"
#include "update_internal.h"

static const uint8_t domain[8] = {'E', 'D', 'S', 'U', 'P', 'D', '1', 0};

/* A semver numeric identifier: digits, no leading zero.  Returns its length or 0. */
static size_t numeric_id(const char *s)
{
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return (n == 0 || (n > 1 && s[0] == '0')) ? 0 : n;
}

static int alnum_hyphen(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '-';
}

/* Dot-separated identifiers; numeric ones without leading zeros when strict. */
static int identifiers(const char *s, size_t len, int strict)
{
	size_t i = 0;
	while (i < len) {
		size_t start = i, digits = 0;
		while (i < len && alnum_hyphen(s[i])) {
			digits += (s[i] >= '0' && s[i] <= '9');
			i++;
		}
		if (i == start || (i < len && s[i] != '.') || (i + 1 == len && s[i] == '.'))
			return 0;
		if (strict && digits == i - start && digits > 1 && s[start] == '0')
			return 0;
		i += (i < len);
	}
	return len > 0;
}

/* Semantic Versioning 2.0.0: MAJOR.MINOR.PATCH[-pre][+build]. */
static eds_status check_semver(const char *v)
{
	size_t len = strnlen(v, EDS_UPDATE_VERSION_MAX + 1), i = 0, n;
	if (len > EDS_UPDATE_VERSION_MAX)
		return eds_fail(EDS_E_FIELD, "version: longer than %d bytes",
		                EDS_UPDATE_VERSION_MAX);
	for (int part = 0; part < 3; part++) {
		if ((n = numeric_id(v + i)) == 0 || n > 15)
			goto bad;
		i += n;
		if (part < 2 && v[i++] != '.')
			goto bad;
	}
	const char *plus = strchr(v + i, '+');
	size_t pre_end = plus != NULL ? (size_t)(plus - v) : len;
	if (v[i] == '-' && !identifiers(v + i + 1, pre_end - i - 1, 1))
		goto bad;
	if (v[i] != '-' && v[i] != '+' && v[i] != '\0')
		goto bad;
	if (plus != NULL && !identifiers(plus + 1, len - pre_end - 1, 0))
		goto bad;
	return EDS_OK;
bad:
	return eds_fail(EDS_E_FIELD,
	                "version: must be a semantic version MAJOR.MINOR.PATCH[-PRE][+BUILD] "
	                "(no leading zeros, at most 15 digits each)");
}

static eds_status check_int(const char *field, uint64_t v)
{
	return v <= EDS_INT_MAX ? EDS_OK : eds_fail(EDS_E_FIELD, "%s: must be 0 .. 2^53-1", field);
}

/* Every rule except "at least one target" (init builds the list later). */
static eds_status check_fields(const eds_update_manifest *m)
{
	eds_status st;
	if (strnlen(m->package, sizeof m->package) == sizeof m->package ||
	    strnlen(m->version, sizeof m->version) == sizeof m->version)
		return eds_fail(EDS_E_FIELD, "manifest: package or version not NUL-terminated");
	if ((st = upd_check_id("package", m->package, EDS_UPDATE_PACKAGE_MAX, 1)) != EDS_OK ||
	    (st = check_semver(m->version)) != EDS_OK ||
	    (st = check_int("security_version", m->security_version)) != EDS_OK ||
	    (st = check_int("image_size", m->image_size)) != EDS_OK ||
	    (st = check_int("issued_ms", m->issued_ms)) != EDS_OK ||
	    (st = check_int("expires_ms", m->expires_ms)) != EDS_OK)
		return st;
	if (m->has_expiry && m->expires_ms <= m->issued_ms)
		return eds_fail(EDS_E_FIELD, "expires_ms: must be later than issued_ms");
	if (!m->has_expiry && m->expires_ms != 0)
		return eds_fail(EDS_E_FIELD, "expires_ms: set without has_expiry");
	if (m->n_targets > EDS_UPDATE_TARGETS_MAX || m->n_signatures > EDS_UPDATE_SIGS_MAX)
		return eds_fail(EDS_E_LIMIT, "manifest: more than %d targets or signatures",
		                EDS_UPDATE_TARGETS_MAX);
	for (size_t i = 0; i < m->n_targets; i++) {
		if (strnlen(m->targets[i], sizeof m->targets[i]) == sizeof m->targets[i])
			return eds_fail(EDS_E_FIELD, "targets[%zu]: not NUL-terminated", i);
		if ((st = upd_check_id("targets[]", m->targets[i], EDS_UPDATE_TARGET_MAX, 0)) !=
		    EDS_OK)
			return st;
		for (size_t k = 0; k < i; k++)
			if (strcmp(m->targets[k], m->targets[i]) == 0)
				return eds_fail(EDS_E_FIELD, "targets: \"%s\" given twice",
				                m->targets[i]);
	}
	return EDS_OK;
}

eds_status eds_update_manifest_validate(const eds_update_manifest *m)
{
	if (m == NULL)
		return eds_fail(EDS_E_ARG, "manifest: NULL argument");
	eds_status st = check_fields(m);
	if (st == EDS_OK && m->n_targets == 0)
		st = eds_fail(EDS_E_FIELD, "targets: at least one hardware id is required");
	return st;
}

eds_status eds_update_manifest_init(eds_update_manifest *m, const char *package,
                                    const char *version, uint64_t security_version,
                                    uint64_t image_size, const uint8_t image_hash[32],
                                    uint64_t issued_ms, uint64_t expires_ms)
{
	if (m == NULL || package == NULL || version == NULL || image_hash == NULL)
		return eds_fail(EDS_E_ARG, "manifest: NULL argument");
	memset(m, 0, sizeof *m);
	eds_status st;
	if ((st = upd_check_id("package", package, EDS_UPDATE_PACKAGE_MAX, 1)) != EDS_OK ||
	    (st = check_semver(version)) != EDS_OK)
		return st;
	/* Lengths were checked against the buffers above. */
	memcpy(m->package, package, strlen(package) + 1);
	memcpy(m->version, version, strlen(version) + 1);
	m->security_version = security_version;
	m->image_size = image_size;
	memcpy(m->image_hash, image_hash, 32);
	m->issued_ms = issued_ms;
	m->has_expiry = expires_ms != 0;
	m->expires_ms = expires_ms;
	return check_fields(m);
}

eds_status eds_update_manifest_add_target(eds_update_manifest *m, const char *hw)
{
	eds_status st;
	if (m == NULL || hw == NULL)
		return eds_fail(EDS_E_ARG, "manifest: NULL argument");
	if ((st = upd_check_id("targets", hw, EDS_UPDATE_TARGET_MAX, 0)) != EDS_OK)
		return st;
	if (m->n_targets >= EDS_UPDATE_TARGETS_MAX)
		return eds_fail(EDS_E_LIMIT, "targets: limit of %d reached",
		                EDS_UPDATE_TARGETS_MAX);
	for (size_t i = 0; i < m->n_targets; i++)
		if (strcmp(m->targets[i], hw) == 0)
			return eds_fail(EDS_E_FIELD, "targets: \"%s\" given twice", hw);
	memcpy(m->targets[m->n_targets++], hw, strlen(hw) + 1);
	return EDS_OK;
}

eds_status eds_update_manifest_encode(const eds_update_manifest *m, uint8_t *out, size_t cap,
                                      size_t *len)
{
	eds_status st;
	if (out == NULL || len == NULL)
		return eds_fail(EDS_E_ARG, "manifest: NULL argument");
	if ((st = eds_update_manifest_validate(m)) != EDS_OK)
		return st;
	upd_buf b = {out, 0, cap, 0};
	upd_put(&b, domain, sizeof domain);
	upd_put_str8(&b, m->package);
	upd_put_str8(&b, m->version);
	upd_put_u64(&b, m->security_version);
	upd_put_u64(&b, m->image_size);
	upd_put(&b, m->image_hash, 32);
	upd_put_u64(&b, m->issued_ms);
	upd_put_u8(&b, m->has_expiry ? 1 : 0);
	upd_put_u64(&b, m->expires_ms);
	upd_put_u8(&b, (unsigned)m->n_targets);
	for (size_t i = 0; i < m->n_targets; i++)
		upd_put_str8(&b, m->targets[i]);
	if (b.bad)
		return eds_fail(EDS_E_LIMIT, "manifest: canonical form does not fit in %zu bytes",
		                cap);
	*len = b.len;
	return EDS_OK;
}

eds_status eds_update_manifest_hash(const eds_update_manifest *m, uint8_t out[32])
{
	uint8_t buf[EDS_UPDATE_CANON_MAX];
	size_t len;
	if (out == NULL) /* encode checks m; eds_blake3 cannot report a NULL out */
		return eds_fail(EDS_E_ARG, "manifest hash: NULL argument");
	eds_status st = eds_update_manifest_encode(m, buf, sizeof buf, &len);
	if (st == EDS_OK)
		eds_blake3(out, buf, len);
	return st;
}

eds_status eds_update_manifest_sign(eds_update_manifest *m, const eds_secret_key *sk)
{
	uint8_t buf[EDS_UPDATE_CANON_MAX];
	size_t len;
	if (m == NULL || sk == NULL)
		return eds_fail(EDS_E_ARG, "manifest: NULL argument");
	eds_status st = eds_update_manifest_encode(m, buf, sizeof buf, &len);
	return st != EDS_OK ? st : upd_add_sig(m->signatures, &m->n_signatures, sk, buf, len);
}

static eds_status get_targets(const json_t *root, eds_update_manifest *m)
{
	const json_t *arr = json_object_get(root, "targets");
	if (arr == NULL)
		return eds_fail(EDS_E_FIELD, "targets: missing");
	if (!json_is_array(arr))
		return eds_fail(EDS_E_FIELD, "targets: must be an array of hardware ids");
	if (json_array_size(arr) > EDS_UPDATE_TARGETS_MAX)
		return eds_fail(EDS_E_LIMIT, "targets: %zu entries, limit is %d",
		                json_array_size(arr), EDS_UPDATE_TARGETS_MAX);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		if (!json_is_string(v) || json_string_length(v) > EDS_UPDATE_TARGET_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return eds_fail(EDS_E_FIELD, "targets[%zu]: must be a hardware id string",
			                i);
		eds_status st = eds_update_manifest_add_target(m, json_string_value(v));
		if (st != EDS_OK)
			return st;
	}
	return EDS_OK;
}

static const char *const manifest_keys[] = {
    "format",    "package",    "version", "security_version", "image_size", "image_blake3",
    "issued_ms", "expires_ms", "targets", "signatures",       NULL};

static eds_status manifest_fill(void *out, const json_t *root)
{
	eds_update_manifest *m = out;
	eds_status st;
	if ((st = upd_get_str(root, "package", m->package, EDS_UPDATE_PACKAGE_MAX)) != EDS_OK ||
	    (st = upd_get_str(root, "version", m->version, EDS_UPDATE_VERSION_MAX)) != EDS_OK ||
	    (st = upd_get_int(root, "security_version", &m->security_version)) != EDS_OK ||
	    (st = upd_get_int(root, "image_size", &m->image_size)) != EDS_OK ||
	    (st = upd_get_hex(root, "image_blake3", m->image_hash, 32)) != EDS_OK ||
	    (st = upd_get_int(root, "issued_ms", &m->issued_ms)) != EDS_OK)
		return st;
	if (json_object_get(root, "expires_ms") != NULL) {
		if ((st = upd_get_int(root, "expires_ms", &m->expires_ms)) != EDS_OK)
			return st;
		m->has_expiry = 1;
	}
	if ((st = get_targets(root, m)) != EDS_OK ||
	    (st = upd_get_sigs(root, m->signatures, &m->n_signatures)) != EDS_OK)
		return st;
	return eds_update_manifest_validate(m);
}

static const upd_doc manifest_doc = {"manifest", "EDSUPD1", manifest_keys, manifest_fill,
                                     sizeof(eds_update_manifest)};

eds_status eds_update_manifest_from_json(eds_update_manifest *m, const char *json, size_t len)
{
	return upd_doc_from_json(&manifest_doc, m, json, len);
}

eds_status eds_update_manifest_load(eds_update_manifest *m, const char *path)
{
	return upd_doc_load(&manifest_doc, m, path);
}

eds_status eds_update_manifest_to_json(const eds_update_manifest *m, char *buf, size_t cap,
                                       size_t *len)
{
	eds_status st;
	if (buf == NULL)
		return eds_fail(EDS_E_ARG, "manifest: NULL argument");
	if ((st = eds_update_manifest_validate(m)) != EDS_OK)
		return st;
	json_t *o = json_object(), *targets = json_array();
	int bad = o == NULL || targets == NULL;
	for (size_t i = 0; !bad && i < m->n_targets; i++)
		bad = json_array_append_new(targets, json_string(m->targets[i]));
	bad = bad || json_object_set_new(o, "format", json_string("EDSUPD1")) ||
	      json_object_set_new(o, "package", json_string(m->package)) ||
	      json_object_set_new(o, "version", json_string(m->version)) ||
	      json_object_set_new(o, "security_version",
	                          json_integer((json_int_t)m->security_version)) ||
	      json_object_set_new(o, "image_size", json_integer((json_int_t)m->image_size)) ||
	      json_object_set_new(o, "image_blake3", upd_hex(m->image_hash, 32)) ||
	      json_object_set_new(o, "issued_ms", json_integer((json_int_t)m->issued_ms)) ||
	      (m->has_expiry &&
	       json_object_set_new(o, "expires_ms", json_integer((json_int_t)m->expires_ms))) ||
	      json_object_set(o, "targets", targets) ||
	      json_object_set_new(o, "signatures", upd_sigs_json(m->signatures, m->n_signatures));
	json_decref(targets);
	if (bad) {
		json_decref(o);
		return eds_fail(EDS_E_NOMEM, "manifest JSON: out of memory");
	}
	return upd_dump(o, buf, cap, len);
}
