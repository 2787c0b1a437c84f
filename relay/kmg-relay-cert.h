/* kmg-relay-cert.h — fresh self-signed DTLS certificates for rebuilt legs (a helper of the roles,
 * above the leg core). No pipeline. */
#pragma once

#include "kmg-relay-leg.h"

G_BEGIN_DECLS

/* A new self-signed certificate and its private key (EC P-256), PEM, for a DTLS agent, and the
 * certificate's SHA-256 fingerprint ("AB:CD:…") in @fingerprint. */
char *kmg_relay_cert_new_pem (char **fingerprint, GError **error);
/* Gives @leg a new certificate (dtls_pem, dtls_fingerprint) for its next webrtcbin. */
gboolean kmg_relay_leg_renew_certificate (KmgRelayLeg *leg, GError **error);

G_END_DECLS
