/* kmg-relay-liveness.h — a seller leg judged by its media: ICE without consent freshness stays
 * "connected" when the seller's uplink dies, so a seller whose RTP stops for a few seconds is
 * reported disconnected, and connected again when its media comes back. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Seconds of silence from a seller after which its leg is reported disconnected. */
#define KMG_RELAY_SELLER_SILENCE_MS 3000

typedef enum
{
  KMG_LIVENESS_UNCHANGED,
  KMG_LIVENESS_SILENT, /* no packet for the timeout: the media stopped */
  KMG_LIVENESS_BACK,   /* packets again after KMG_LIVENESS_SILENT */
} KmgLivenessVerdict;

/* Pure: fed a packet counter now and then (main context), says when it stalls and restarts. */
typedef struct
{
  guint count;      /* the counter as last seen */
  gint64 moved_ms;  /* when it last changed */
  gboolean started; /* it has moved at least once: silence before the first packet is not judged */
  gboolean silent;
} KmgLiveness;

void kmg_liveness_reset (KmgLiveness *l);
KmgLivenessVerdict kmg_liveness_check (KmgLiveness *l, guint count, gint64 now_ms, gint64 timeout_ms);

typedef struct _KmgSeller KmgSeller;

/* Main context, about once a second: moves the seller leg between connected and disconnected by
 * what its media does (see above). */
void kmg_relay_seller_check_media (KmgSeller *seller, gint64 now_ms);

G_END_DECLS
