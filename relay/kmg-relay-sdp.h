/* kmg-relay-sdp.h — SDP and caps rules of the relay: which codecs and header extensions a
 * seller leg accepts, and how forwarded caps become a buyer offer. Pure (no pipeline). */
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

G_BEGIN_DECLS

/* Header extensions the relay negotiates with a seller and forwards unchanged to buyers. */
#define KMG_RELAY_EXT_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define KMG_RELAY_EXT_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

/* TRUE for an "extmap-N" caps value (a URI string, or a (direction, URI, attributes) array)
 * naming an extension the relay keeps. */
gboolean kmg_relay_sdp_extmap_is_forwarded (const GValue *value);

/* Receive caps for the first video m-line of a seller's @offer: one structure per VP8/H264
 * payload type, with its fmtp and rtcp-fb and the kept header extensions; no session-level
 * attributes, no ssrc data, no RTX/RED/FEC. NULL if the offer has no such codec. */
GstCaps *kmg_relay_sdp_offer_video_caps (const GstSDPMessage *offer);

/* @sdp (text) with every a=fingerprint line replaced by "a=fingerprint:sha-256 @fingerprint". */
char *kmg_relay_sdp_with_fingerprint (const char *sdp, const char *fingerprint);

/* RTX (RFC 4588) for the forwarded stream as negotiated with a buyer: in the relay's @offer, the
 * first video m-line's "rtx" payload type with apt=@video_pt and the RTX SSRC paired with
 * @video_ssrc by an a=ssrc-group:FID; and the buyer's @answer kept that payload type. FALSE when
 * either is missing: resends are then the original packets. */
gboolean kmg_relay_sdp_rtx (const GstSDPMessage *offer, const GstSDPMessage *answer, guint video_pt,
                            guint32 video_ssrc, guint *rtx_pt, guint32 *rtx_ssrc);

/* The a=mid of m-line @mline of @sdp, or NULL when that m-line is absent or has none. */
const char *kmg_relay_sdp_mid (const GstSDPMessage *sdp, guint mline);

G_END_DECLS
