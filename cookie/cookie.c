#include "cookie.h"
#include "synack.h"

#include <string.h>
#include <sys/socket.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

enum {
	COOKIE_KEY_LEN = 16, /* SipHash key */
	COOKIE_SIP_LEN = 8,  /* SipHash-2-4 with the 64-bit output */
	/* Epochs now, now-1, and the two before those for COOKIE_EXPIRED. */
	COOKIE_SLOTS = 4,
};

/* The message carries the family as its AF_ value. */
_Static_assert(AF_INET == SYNACK_AF_INET && AF_INET6 == SYNACK_AF_INET6, "synack.h's address families");

static const char cookie_label[] = "synguard-cookie";

struct cookie_key {
	EVP_MAC_CTX *mac; /* SipHash keyed with K_epoch; re-initialised per use */
	uint64_t epoch;
	bool ready; /* false until derived, and after a failed derivation */
};

struct cookie_jar {
	EVP_MAC_CTX *kdf; /* HMAC-SHA256 keyed with the master, which lives only here */
	uint64_t period;
	struct cookie_key keys[COOKIE_SLOTS]; /* epoch e in slot e % COOKIE_SLOTS */
};

static uint8_t *cookie_put(uint8_t *p, uint64_t v, size_t len)
{
	for (size_t i = len; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
	return p + len;
}

/* HMAC-SHA256(master, label | epoch): K_epoch is its first 16 bytes. */
static bool cookie_kdf(struct cookie_jar *jar, uint64_t epoch, uint8_t out[32])
{
	uint8_t msg[sizeof(cookie_label) - 1 + 8];
	size_t outl;

	memcpy(msg, cookie_label, sizeof(cookie_label) - 1);
	cookie_put(msg + sizeof(cookie_label) - 1, epoch, 8);
	/* A NULL key re-initialises with the master set in cookie_jar_new(). */
	return EVP_MAC_init(jar->kdf, NULL, 0, NULL) && EVP_MAC_update(jar->kdf, msg, sizeof(msg)) &&
	       EVP_MAC_final(jar->kdf, out, &outl, 32);
}

static bool cookie_derive(struct cookie_jar *jar, struct cookie_key *k, uint64_t epoch)
{
	uint8_t out[32];

	k->ready = cookie_kdf(jar, epoch, out) && EVP_MAC_init(k->mac, out, COOKIE_KEY_LEN, NULL);
	k->epoch = epoch;
	OPENSSL_cleanse(out, sizeof(out));
	return k->ready;
}

int cookie_epoch_key(struct cookie_jar *jar, uint64_t now, uint64_t *epoch, uint8_t key[COOKIE_EPOCH_KEY_LEN])
{
	uint8_t out[32];
	bool ok;

	*epoch = now / jar->period;
	ok = cookie_kdf(jar, *epoch, out);
	memcpy(key, out, COOKIE_EPOCH_KEY_LEN);
	OPENSSL_cleanse(out, sizeof(out));
	return ok ? 0 : -1;
}

/* The key for `epoch`, derived on first use; slots hold the epoch they were
 * derived for, so any change of `now`, backwards too, is caught here. */
static struct cookie_key *cookie_key(struct cookie_jar *jar, uint64_t epoch)
{
	struct cookie_key *k = &jar->keys[epoch % COOKIE_SLOTS];

	if ((!k->ready || k->epoch != epoch) && !cookie_derive(jar, k, epoch))
		return NULL;
	return k;
}

/* The full cookie for these inputs under `k`: MAC bits over `low`. */
static bool cookie_compute(struct cookie_key *k, const struct cookie_tuple *t, uint32_t client_isn,
                           uint8_t low, uint32_t *cookie)
{
	struct synack_msg msg;
	uint8_t out[COOKIE_SIP_LEN];
	size_t outl;

	synack_msg_fill(&msg, t->family, t->saddr, t->daddr, t->sport, t->dport, client_isn, low);
	/* A NULL key restores the SipHash state keyed in cookie_derive(). */
	if (!EVP_MAC_init(k->mac, NULL, 0, NULL) || !EVP_MAC_update(k->mac, msg.b, SYNACK_MSG_LEN) ||
	    !EVP_MAC_final(k->mac, out, &outl, sizeof(out)))
		return false;
	*cookie = synack_cookie(synack_le64(out), low);
	return true;
}

static bool cookie_matches(struct cookie_jar *jar, uint64_t epoch, const struct cookie_tuple *t,
                           uint32_t client_isn, uint32_t cookie)
{
	struct cookie_key *k = cookie_key(jar, epoch);
	uint32_t want;

	return k && cookie_compute(k, t, client_isn, (uint8_t)cookie, &want) &&
	       CRYPTO_memcmp(&want, &cookie, sizeof(cookie)) == 0;
}

static void cookie_decode(uint8_t low, struct cookie_opts *o)
{
	o->mss = synack_low_mss(low);
	o->wscale = synack_low_wscale(low);
	o->sack_ok = synack_low_sack(low);
}

struct cookie_jar *cookie_jar_new(const uint8_t master[COOKIE_MASTER_LEN], uint32_t period_s)
{
	static char digest[] = "SHA256";
	size_t sip_len = COOKIE_SIP_LEN;
	const OSSL_PARAM kdf_params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	const OSSL_PARAM sip_params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &sip_len),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC *sip = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	struct cookie_jar *jar = OPENSSL_zalloc(sizeof(*jar));
	bool ok = period_s > 0 && hmac && sip && jar;

	if (ok) {
		jar->period = period_s;
		jar->kdf = EVP_MAC_CTX_new(hmac);
		ok = jar->kdf && EVP_MAC_init(jar->kdf, master, COOKIE_MASTER_LEN, kdf_params);
	}
	for (size_t i = 0; ok && i < COOKIE_SLOTS; i++) {
		jar->keys[i].mac = EVP_MAC_CTX_new(sip);
		ok = jar->keys[i].mac && EVP_MAC_CTX_set_params(jar->keys[i].mac, sip_params);
	}
	/* The contexts hold their own references. */
	EVP_MAC_free(hmac);
	EVP_MAC_free(sip);
	if (!ok) {
		cookie_jar_free(jar);
		return NULL;
	}
	return jar;
}

void cookie_jar_free(struct cookie_jar *jar)
{
	static const uint8_t zero_key[COOKIE_KEY_LEN];

	if (!jar)
		return;
	for (size_t i = 0; i < COOKIE_SLOTS; i++) {
		/* OpenSSL frees a SipHash context without cleansing it: overwrite
		 * the keyed state (and its saved copy) with a zero key first. */
		if (jar->keys[i].mac)
			EVP_MAC_init(jar->keys[i].mac, zero_key, sizeof(zero_key), NULL);
		EVP_MAC_CTX_free(jar->keys[i].mac);
	}
	/* HMAC's free cleanses the master and its digest states. */
	EVP_MAC_CTX_free(jar->kdf);
	OPENSSL_free(jar);
}

int cookie_master_random(uint8_t master[COOKIE_MASTER_LEN])
{
	return RAND_bytes(master, COOKIE_MASTER_LEN) == 1 ? 0 : -1;
}

uint32_t cookie_make(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t client_isn,
                     const struct cookie_opts *offered, uint64_t now, struct cookie_opts *granted)
{
	uint64_t epoch = now / jar->period;
	uint8_t low = synack_low_pack(epoch, offered->mss, offered->wscale, offered->sack_ok);
	struct cookie_key *k = cookie_key(jar, epoch);
	uint32_t cookie = low; /* MAC bits stay zero if OpenSSL fails */

	if (k)
		cookie_compute(k, t, client_isn, low, &cookie);
	if (granted)
		cookie_decode(low, granted);
	return cookie;
}

enum cookie_verdict cookie_check(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t seq,
                                 uint32_t ack, uint64_t now, struct cookie_opts *out)
{
	uint32_t cookie = ack - 1;
	uint32_t client_isn = seq - 1;
	uint64_t epoch = now / jar->period;

	/* The parity bit names one key: this epoch's or the previous one's. */
	if ((epoch & 1) != synack_low_parity((uint8_t)cookie))
		epoch--;
	if (!cookie_matches(jar, epoch, t, client_isn, cookie))
		return COOKIE_BAD_MAC;
	if (out)
		cookie_decode((uint8_t)cookie, out);
	return COOKIE_VALID;
}

enum cookie_verdict cookie_diagnose(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t seq,
                                    uint32_t ack, uint64_t now)
{
	uint32_t cookie = ack - 1;
	uint64_t epoch = now / jar->period;

	/* The epoch of the same parity before the one cookie_check() tried. */
	if ((epoch & 1) != synack_low_parity((uint8_t)cookie))
		epoch--;
	return cookie_matches(jar, epoch - 2, t, seq - 1, cookie) ? COOKIE_EXPIRED : COOKIE_BAD_MAC;
}

const char *cookie_verdict_str(enum cookie_verdict v)
{
	switch (v) {
	case COOKIE_VALID:
		return "valid";
	case COOKIE_BAD_MAC:
		return "bad MAC";
	case COOKIE_EXPIRED:
		return "expired";
	}
	return "unknown verdict";
}
