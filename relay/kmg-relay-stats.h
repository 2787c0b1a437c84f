/* kmg-relay-stats.h — the buyer's receiver report, read out of a webrtcbin get-stats reply.
 * Pure: takes the reply structure, touches no pipeline. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct
{
  double fraction_lost, rtt, jitter;
  guint64 fingerprint;
} KmgRrSample;

gboolean kmg_relay_stats_parse_rr (const GstStructure *stats, guint clock_rate, KmgRrSample *out);

G_END_DECLS
