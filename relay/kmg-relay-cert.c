/* kmg-relay-cert.c — a fresh self-signed DTLS certificate for a rebuilt buyer leg. GStreamer's
 * DTLS elements share one generated certificate per process, so without this a leg rebuilt for
 * an ICE restart would announce the same fingerprint and the buyer's browser would keep its old
 * DTLS session instead of shaking hands with the new transport.
 *
 * webrtcbin 1.22 computes the offer's fingerprint over every base64 line of the PEM it is given,
 * the private key included, so the fingerprint is computed here (SHA-256 of the certificate's DER,
 * RFC 8122) and put into the offer instead (kmg_relay_sdp_with_fingerprint, kmg-relay-sdp.c). */
#include "kmg-relay-cert.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

static char *
fingerprint_of (X509 *cert)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;

  if (X509_digest (cert, EVP_sha256 (), md, &len) != 1 || len == 0)
    return NULL;
  GString *out = g_string_sized_new (len * 3);
  for (unsigned int i = 0; i < len; i++)
    g_string_append_printf (out, i == 0 ? "%02X" : ":%02X", md[i]);
  return g_string_free (out, FALSE);
}

char *
kmg_relay_cert_new_pem (char **fingerprint, GError **error)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");
  X509 *cert = X509_new ();
  BIO *out = BIO_new (BIO_s_mem ());
  char *pem = NULL;
  guint64 serial = 0;

  *fingerprint = NULL;
  if (key == NULL || cert == NULL || out == NULL || RAND_bytes ((unsigned char *) &serial, sizeof serial) != 1)
    goto done;
  X509_set_version (cert, 2);
  ASN1_INTEGER_set_uint64 (X509_get_serialNumber (cert), serial >> 1);
  X509_gmtime_adj (X509_getm_notBefore (cert), -24 * 3600);
  X509_gmtime_adj (X509_getm_notAfter (cert), 30 * 24 * 3600);
  X509_NAME *name = X509_get_subject_name (cert);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *) "kamegor-relay", -1, -1, 0);
  X509_set_issuer_name (cert, name);
  if (X509_set_pubkey (cert, key) != 1 || X509_sign (cert, key, EVP_sha256 ()) == 0
      || PEM_write_bio_X509 (out, cert) != 1 || PEM_write_bio_PrivateKey (out, key, NULL, NULL, 0, NULL, NULL) != 1)
    goto done;
  char *data = NULL;
  long len = BIO_get_mem_data (out, &data);
  *fingerprint = fingerprint_of (cert);
  if (len > 0 && *fingerprint != NULL)
    pem = g_strndup (data, (gsize) len);
done:
  if (pem == NULL)
    g_clear_pointer (fingerprint, g_free);
  if (pem == NULL)
    g_set_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_PIPELINE, "cannot make a DTLS certificate");
  BIO_free (out);
  X509_free (cert);
  EVP_PKEY_free (key);
  return pem;
}

gboolean
kmg_relay_leg_renew_certificate (KmgRelayLeg *leg, GError **error)
{
  g_autofree char *fingerprint = NULL;
  g_autofree char *pem = kmg_relay_cert_new_pem (&fingerprint, error);

  if (pem == NULL)
    return FALSE;
  g_free (leg->dtls_pem);
  g_free (leg->dtls_fingerprint);
  leg->dtls_pem = g_steal_pointer (&pem);
  leg->dtls_fingerprint = g_steal_pointer (&fingerprint);
  return TRUE;
}
