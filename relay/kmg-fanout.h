/* kmg-fanout.h — the relay's forwarding path for buyer legs on UDP: one per seller, it takes
 * each RTP packet of the seller once and, for every buyer, encrypts it with that buyer's SRTP
 * session (libsrtp) and sends it on that buyer's ICE socket. Keeps the seller's last packets to
 * answer NACKs (within a budget per buyer), reads the buyers' RTCP (receiver reports, NACK,
 * PLI/FIR) and counts what each buyer was sent per wall-clock second.
 *
 * No GStreamer: a leg is set up by webrtcbin (ICE, DTLS) and then handed over with its SRTP
 * key and socket. Threads: kmg_fanout_push() runs on the seller's streaming thread,
 * kmg_fanout_target_feedback() on a buyer's; everything else on any thread. One mutex. */
#pragma once

#include <gio/gio.h>

#include "kmg-rtp-meter.h"

G_BEGIN_DECLS

typedef struct _KmgFanout KmgFanout;
typedef struct _KmgFanoutTarget KmgFanoutTarget;

/* SRTP protection profiles of DTLS-SRTP (RFC 5764, RFC 7714). */
typedef enum
{
  KMG_SRTP_AES128_CM_SHA1_80,
  KMG_SRTP_AES128_CM_SHA1_32,
  KMG_SRTP_AEAD_AES_128_GCM,
  KMG_SRTP_AEAD_AES_256_GCM,
} KmgSrtpProfile;

#define KMG_SRTP_MAX_KEY_LEN 46 /* master key + master salt */

typedef struct
{
  KmgSrtpProfile profile;
  guint8 key[KMG_SRTP_MAX_KEY_LEN];
  gsize key_len; /* must match the profile: 30 (CM), 28 (GCM 128), 44 (GCM 256) */
} KmgSrtpParams;

/* What one buyer may have resent per second (RTP bytes before SRTP), whatever it NACKs; what it
 * asks beyond that is refused. Why these figures: see kmg-fanout.c. */
#define KMG_FANOUT_NACK_PACKETS_PER_SECOND 100
#define KMG_FANOUT_NACK_BYTES_PER_SECOND 125000

/* What one RTCP compound packet from a buyer asked for or reported. */
typedef struct
{
  gboolean keyframe_wanted; /* PLI or FIR for the forwarded stream */
  guint nacked;             /* sequence numbers asked for again */
  guint retransmitted;      /* of those, found in the history and sent */
  guint refused;            /* found in the history but over the buyer's budget: not sent */
  gboolean have_rr;         /* a report block about the forwarded stream */
  double fraction_lost;     /* 0..1 */
  double jitter;            /* seconds */
  double rtt;               /* seconds, from our last sender report; -1: none */
  guint64 rr_fingerprint;   /* changes whenever the receiver reports anew */
} KmgFanoutFeedback;

typedef struct
{
  guint64 packets_sent;
  guint64 payload_bytes_sent;
  guint64 packets_dropped; /* socket full or send error: that buyer only */
  guint64 retransmitted;      /* NACKed packets resent */
  guint64 retransmit_refused; /* NACKed packets not resent: over the buyer's budget */
} KmgFanoutCounters;

/* Keeps @history_packets (a power of two, ≥ 64) of the seller's packets for NACKs. */
KmgFanout *kmg_fanout_new (guint history_packets, guint clock_rate);
void kmg_fanout_free (KmgFanout *fanout);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgFanout, kmg_fanout_free)

/* Called once per target, under the fan-out's lock on the seller's streaming thread, when the
 * first packet was sent to it: hand it over to another thread, do not call back into the fan-out. */
typedef void (*KmgFanoutFirstSentFunc) (gpointer target_data);

/* Starts forwarding to @destination through @socket (a ref is kept). Fails on a key that does
 * not fit the profile. The key must not have protected any RTP of the forwarded streams before
 * (each stream starts at rollover counter 0). */
KmgFanoutTarget *kmg_fanout_add_target (KmgFanout *fanout, const KmgSrtpParams *params, GSocket *socket,
                                        GSocketAddress *destination, KmgFanoutFirstSentFunc first_sent,
                                        gpointer target_data, GError **error);
/* The ICE pair changed: later packets use the new socket and address. */
void kmg_fanout_target_set_path (KmgFanout *fanout, KmgFanoutTarget *target, GSocket *socket,
                                 GSocketAddress *destination);
/* The buyer negotiated RTX (RFC 4588) for the forwarded stream: NACKed packets are resent to it
 * as RTX packets, payload type @rtx_pt on SSRC @rtx_ssrc with their own sequence numbers and the
 * original sequence number in the first two payload bytes. Without this call a resend is the
 * original packet again (RFC 4585 generic NACK alone). */
void kmg_fanout_target_set_rtx (KmgFanout *fanout, KmgFanoutTarget *target, guint8 rtx_pt, guint32 rtx_ssrc);
/* Stops forwarding to @target at once and frees it. */
void kmg_fanout_remove_target (KmgFanout *fanout, KmgFanoutTarget *target);
guint kmg_fanout_get_n_targets (KmgFanout *fanout);
/* RTP packets of the seller pushed so far (whether or not anyone was sent them). */
guint64 kmg_fanout_get_packets_in (KmgFanout *fanout);

/* Seller's streaming thread: one RTP packet of the seller, stamped with the wall-clock second
 * it was forwarded in. Not RTP (too short, wrong version): ignored. */
void kmg_fanout_push (KmgFanout *fanout, const guint8 *rtp, gsize len, gint64 second);

/* Sends every target a sender report (RTCP SR) for the forwarded stream, stamped @now_real_us
 * (wall clock, µs): receivers use it for timing and echo it, which gives the round-trip time.
 * Call about once a second; does nothing before the first packet. */
void kmg_fanout_send_reports (KmgFanout *fanout, gint64 now_real_us);

/* A buyer's decrypted RTCP (compound) for @target: retransmits what it NACKs from the history
 * and reports the rest in @out. A target removed meanwhile is ignored (@out stays empty). */
void kmg_fanout_target_feedback (KmgFanout *fanout, KmgFanoutTarget *target, const guint8 *rtcp, gsize len,
                                 KmgFanoutFeedback *out);

/* What @target's owner reads about once a second, under one lock: its counters, the last receiver
 * report about the forwarded stream (have_rr FALSE: none yet), and the forwarded seconds that
 * closed before @now_second, appended to @seconds (KmgMeterSecond) and then forgotten. */
void kmg_fanout_target_poll (KmgFanout *fanout, KmgFanoutTarget *target, gint64 now_second,
                             KmgFanoutCounters *counters, KmgFanoutFeedback *last_report, GArray *seconds);

/* Adds to @totals what @target's counters grew by since the previous call (the first time: since
 * it was added), for totals over all targets that outlive each of them. */
void kmg_fanout_target_add_growth (KmgFanout *fanout, KmgFanoutTarget *target, KmgFanoutCounters *totals);

G_END_DECLS
