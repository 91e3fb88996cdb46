/*
 * http_daemon.c - starting libmicrohttpd with the server's limits and TLS,
 * parsing the listen address, and the client-certificate identity.
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"
#include "internal.h"

/* TLS 1.2 and 1.3 only: older versions have known weaknesses. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* Per-connection memory for headers and read buffers: bounds header floods. */
#define CONNECTION_MEMORY (64 * 1024)

eds_status eds_http_parse_listen(const char *text, struct sockaddr_storage *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	memset(out, 0, sizeof *out);
	const char *colon = strrchr(text, ':');
	unsigned long port = 0;
	char *end = NULL;
	if (colon != NULL && colon[1] >= '0' && colon[1] <= '9')
		port = strtoul(colon + 1, &end, 10);
	size_t hl = colon ? (size_t)(colon - text) : 0;
	if (colon == NULL || end == NULL || *end != '\0' || port > 65535 || hl >= sizeof host)
		return eds_fail(EDS_E_ARG, "listen address '%s': want ADDR:PORT or [V6]:PORT",
		                text);
	memcpy(host, text, hl);
	host[hl] = '\0';
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	if (hl == 0) {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)port);
		return EDS_OK;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return EDS_OK;
	}
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			return EDS_OK;
		}
	}
	return eds_fail(EDS_E_ARG, "listen address '%s': not an IP address", text);
}

/*
 * MHD's own %HH decoding, except that a path holding %00 is left as it
 * came: decoded, its NUL would end the path early, and "/healthz%00x"
 * would be "/healthz".  Undecoded, it names no endpoint and no device.
 */
static size_t unescape(void *cls, struct MHD_Connection *c, char *text)
{
	(void)cls;
	(void)c;
	return strstr(text, "%00") != NULL ? strlen(text) : MHD_http_unescape(text);
}

eds_status eds_http_start_daemon(struct MHD_Daemon **d, const struct sockaddr_storage *addr,
                                 const eds_server_options *o, MHD_AccessHandlerCallback handler,
                                 void *hcls, MHD_RequestCompletedCallback done, void *dcls)
{
	unsigned flags =
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)addr;
	if (addr->ss_family == AF_INET6)
		flags |=
		    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	struct MHD_OptionItem ops[16];
	int n = 0;
#define OPT(k, v, p) ops[n++] = (struct MHD_OptionItem){(k), (intptr_t)(v), (void *)(p)}
	OPT(MHD_OPTION_SOCK_ADDR, 0, addr);
	OPT(MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, done, dcls);
	OPT(MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL);
	if (o->tls_cert != NULL) { /* eds_server_check_tls checked the files */
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, o->tls_cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, o->tls_key);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES);
		if (o->tls_client_ca != NULL)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, o->tls_client_ca);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	/* The port comes from MHD_OPTION_SOCK_ADDR; the positional one is ignored then. */
	*d = MHD_start_daemon(flags, 0, NULL, NULL, handler, hcls, MHD_OPTION_ARRAY, ops,
	                      MHD_OPTION_END);
	if (*d == NULL)
		return eds_fail(o->tls_cert ? EDS_E_KEY : EDS_E_IO, "cannot listen on %s%s",
		                o->listen ? o->listen : "127.0.0.1:8080",
		                o->tls_cert ? " (address in use, or TLS certificate/key unusable)"
		                            : " (address in use or not local?)");
	return EDS_OK;
}

/* ---- the TLS files, checked before MHD gets them ------------------------------------ */

static gnutls_datum_t datum(const char *pem)
{
	return (gnutls_datum_t){(unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem)};
}

/* The first certificate of the file (the server's) into *crt: the caller frees it. */
static eds_status first_cert(const char *pem, gnutls_x509_crt_t *crt)
{
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	gnutls_datum_t d = datum(pem);
	int rc = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || n == 0)
		return eds_fail(EDS_E_KEY, "TLS: no PEM certificate in the certificate file "
		                           "(--tls-cert)");
	*crt = list[0];
	for (unsigned i = 1; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	return EDS_OK;
}

/* An expired certificate would start a server that every client refuses. */
static eds_status check_expiry(gnutls_x509_crt_t crt)
{
	time_t expires = gnutls_x509_crt_get_expiration_time(crt);
	if (expires == (time_t)-1 || expires >= time(NULL))
		return EDS_OK;
	char when[32];
	struct tm tm;
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&expires, &tm));
	return eds_fail(EDS_E_KEY, "TLS: the certificate (--tls-cert) expired on %s", when);
}

/*
 * The key: unencrypted (no one is there to type a password) and the
 * certificate's own.  GnuTLS compares the two only for some algorithms (an
 * Ed25519 key of another certificate loads, and every handshake fails), so
 * the key ids (hashes of the public key) are compared here.
 */
static eds_status check_key(gnutls_x509_crt_t crt, const char *key)
{
	if (strstr(key, "PRIVATE KEY-----") == NULL)
		return eds_fail(EDS_E_KEY, "TLS: no PEM private key in the key file (--tls-key)");
	if (strstr(key, "ENCRYPTED") != NULL)
		return eds_fail(EDS_E_KEY, "TLS: the key (--tls-key) is encrypted; the server "
		                           "takes an unencrypted PEM key (mode 0600)");
	gnutls_x509_privkey_t pk;
	if (gnutls_x509_privkey_init(&pk) < 0)
		return eds_fail(EDS_E_NOMEM, "TLS: out of memory");
	gnutls_datum_t d = datum(key);
	unsigned char kid[64], cid[64];
	size_t kn = sizeof kid, cn = sizeof cid;
	int rc = gnutls_x509_privkey_import2(pk, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc == 0)
		rc = gnutls_x509_privkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256, kid, &kn);
	gnutls_x509_privkey_deinit(pk);
	if (rc < 0)
		return eds_fail(EDS_E_KEY, "TLS: the key (--tls-key) is not usable: %s",
		                gnutls_strerror(rc));
	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, cid, &cn) < 0 || kn != cn ||
	    memcmp(kid, cid, kn) != 0)
		return eds_fail(EDS_E_KEY, "TLS: the key (--tls-key) is not the certificate's "
		                           "(--tls-cert)");
	return EDS_OK;
}

/* The client CA file: a file without a certificate would refuse every client. */
static eds_status check_ca(const char *ca)
{
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return eds_fail(EDS_E_NOMEM, "TLS: out of memory");
	gnutls_datum_t d = datum(ca);
	int n = gnutls_certificate_set_x509_trust_mem(cred, &d, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (n <= 0)
		return eds_fail(EDS_E_KEY, "TLS: no PEM certificate in the client CA file "
		                           "(--tls-client-ca)");
	return EDS_OK;
}

eds_status eds_server_check_tls(const eds_server_options *o)
{
	if (o == NULL)
		return eds_fail(EDS_E_ARG, "server: NULL argument");
	if (o->tls_cert == NULL && (o->tls_key != NULL || o->tls_client_ca != NULL))
		return eds_fail(EDS_E_ARG, "TLS: --tls-key and --tls-client-ca need --tls-cert");
	if (o->tls_cert == NULL)
		return EDS_OK;
	if (o->tls_key == NULL)
		return eds_fail(EDS_E_ARG, "TLS: a certificate needs its key (--tls-key)");
	gnutls_x509_crt_t crt = NULL;
	eds_status st = first_cert(o->tls_cert, &crt);
	if (st != EDS_OK)
		return st;
	st = check_expiry(crt);
	if (st == EDS_OK)
		st = check_key(crt, o->tls_key);
	gnutls_x509_crt_deinit(crt);
	if (st == EDS_OK && o->tls_client_ca != NULL)
		st = check_ca(o->tls_client_ca);
	return st;
}

static int peer_cn(gnutls_session_t sess, char *out, size_t cap, char *why, size_t whycap)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(sess, &n);
	gnutls_x509_crt_t crt = NULL;
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) != 0) {
		snprintf(why, whycap, "A client certificate is required.");
		return -1;
	}
	size_t size = cap, more = 0;
	int rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (rc == 0)
		rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out,
		                                   &size);
	/* A second CN makes the identity a matter of which one is read: refused. */
	int second =
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 1, 0, NULL, &more);
	gnutls_x509_crt_deinit(crt);
	if (rc == 0 && second != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		snprintf(why, whycap, "The client certificate has more than one subject CN.");
		return -1;
	}
	if (rc != 0 || size == 0 || strlen(out) != size) {
		snprintf(why, whycap, "The client certificate has no usable subject CN.");
		return -1;
	}
	return 0;
}

/* Why verification failed, in the words an operator looks for. */
static const char *verify_failure(unsigned status)
{
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNATURE_FAILURE))
		return "The client certificate is not signed by the client CA.";
	if (status & GNUTLS_CERT_EXPIRED)
		return "The client certificate has expired.";
	if (status & GNUTLS_CERT_NOT_ACTIVATED)
		return "The client certificate is not valid yet.";
	if (status & GNUTLS_CERT_REVOKED)
		return "The client certificate is revoked.";
	return "The client certificate is not signed by the client CA.";
}

int eds_tls_client_identity(struct MHD_Connection *c, char *out, size_t cap, char *why,
                            size_t whycap)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	unsigned status = 0;
	if (ci == NULL || ci->tls_session == NULL) {
		snprintf(why, whycap, "A TLS client certificate is required.");
		return -1;
	}
	gnutls_session_t sess = (gnutls_session_t)ci->tls_session;
	int rc = gnutls_certificate_verify_peers2(sess, &status);
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND ||
	    gnutls_certificate_get_peers(sess, NULL) == NULL) {
		snprintf(why, whycap, "A client certificate is required.");
		return -1;
	}
	if (rc != 0 || status != 0) {
		snprintf(why, whycap, "%s", verify_failure(rc != 0 ? 0 : status));
		return -1;
	}
	return peer_cn(sess, out, cap, why, whycap);
}
