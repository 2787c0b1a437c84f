/* test-relay-loopback.c — the relay end to end on 127.0.0.1: a VP8 seller, buyers that decode,
 * delivered seconds, stopping one buyer, a buyer that never answers, denied candidates. */
#include "net-deny-cases.h"
#include "kmg-relay-liveness.h"
#include "relay-fixture.h"

#include "kmg-charging.h"

/* Receipt timeout of the rule, as billing.receipt_timeout_s defaults to. */
#define RECEIPT_TIMEOUT_S 5

/* Billing's delivered-second rule applied to what the relay measured. */
static gboolean
second_delivered (const KmgRelaySecond *s)
{
  KmgRelaySecondSample sample = { .second = s->second, .video_packets = s->packets, .bytes = s->bytes,
                                  .rr_age_ms = s->rr_age_ms, .rr_fraction_lost = s->fraction_lost,
                                  .jitter_ms = s->jitter < 0 ? -1 : s->jitter * 1000,
                                  .rtt_ms = s->rtt < 0 ? -1 : s->rtt * 1000 };

  return kmg_relay_second_delivered (&sample, RECEIPT_TIMEOUT_S, NULL);
}

static gboolean
peer_decoded_10 (gpointer data)
{
  return g_atomic_int_get (&((TestPeer *) data)->frames) >= 10;
}

static gboolean
peer_has_delivered_second (gpointer data)
{
  TestPeer *peer = data;
  for (guint i = 0; i < peer->seconds->len; i++)
    if (second_delivered (&g_array_index (peer->seconds, KmgRelaySecond, i)))
      return TRUE;
  return FALSE;
}

/* The relay's sender reports come back in the buyer's receiver reports: a round-trip time. */
static gboolean
peer_has_rtt (gpointer data)
{
  TestPeer *peer = data;
  for (guint i = 0; i < peer->seconds->len; i++)
    if (g_array_index (peer->seconds, KmgRelaySecond, i).rtt >= 0)
      return TRUE;
  return FALSE;
}

static gboolean
both_decoded (gpointer data)
{
  TestPeer **p = data;
  return peer_decoded_10 (p[0]) && peer_decoded_10 (p[1]);
}

static void
check_forward_and_deliver (gboolean direct_udp)
{
  RelayFixture fx;
  KmgRelayStats stats;
  KmgRelayConfig *config = kmg_relay_config_new ();
  guint64 delivered_seconds = 0;

  config->direct_udp = direct_udp;
  relay_fixture_init (&fx, config);
  TestPeer *buyer = relay_fixture_add_buyer (&fx, "session-a", FALSE);
  g_assert_true (relay_fixture_run_until (peer_decoded_10, buyer, 20000));
  g_assert_true (buyer->first_rtp);
  g_assert_cmpint (buyer->state, ==, KMG_RELAY_LEG_STATE_CONNECTED);
  g_assert_cmpint (fx.seller_state, ==, KMG_RELAY_LEG_STATE_CONNECTED);

  /* Receiver reports start a few seconds in; then seconds become delivered. */
  g_assert_true (relay_fixture_run_until (peer_has_delivered_second, buyer, 20000));
  g_assert_true (relay_fixture_run_until (peer_has_rtt, buyer, 20000));
  for (guint i = 0; i < buyer->seconds->len; i++)
    {
      const KmgRelaySecond *s = &g_array_index (buyer->seconds, KmgRelaySecond, i);
      g_assert_cmpuint (s->packets, >, 0);
      g_assert_cmpint (s->second, >, 1600000000);
      g_assert_cmpint (s->second, <=, g_get_real_time () / G_USEC_PER_SEC);
      if (second_delivered (s))
        {
          delivered_seconds++;
          g_assert_cmpint (s->rr_age_ms, >=, 0);
          g_assert_cmpint (s->rr_age_ms, <, 5000);
          g_assert_cmpfloat (s->fraction_lost, <, 0.5);
          g_assert_true (s->rtt >= 0 || s->rtt == -1); /* -1: no report echoed a sender report yet */
        }
    }
  kmg_relay_get_stats (fx.relay, &stats);
  g_assert_cmpuint (stats.seller_legs, ==, 1);
  g_assert_cmpuint (stats.buyer_legs, ==, 1);
  g_assert_cmpuint (stats.buyer_legs_direct, ==, direct_udp ? 1 : 0);
  g_assert_cmpuint (stats.packets_dropped, ==, 0);
  g_assert_cmpuint (stats.packets, >, 0);
  g_assert_cmpuint (delivered_seconds, >, 0);
  g_assert_cmpuint (stats.keyframe_requests_forwarded, >, 0); /* the connect-time request */
  g_test_message ("seconds reported %u, delivered %" G_GUINT64_FORMAT ", keyframe requests %" G_GUINT64_FORMAT
                  "/%" G_GUINT64_FORMAT " dropped", buyer->seconds->len, delivered_seconds,
                  stats.keyframe_requests_forwarded, stats.keyframe_requests_dropped);
  relay_fixture_clear (&fx);
}

/* UDP legs from the seller's fan-out (default). */
static void
test_forward_and_deliver (void)
{
  check_forward_and_deliver (TRUE);
}

/* Every leg through its own webrtcbin, as ICE-TCP legs always are. */
static void
test_forward_and_deliver_webrtcbin (void)
{
  check_forward_and_deliver (FALSE);
}

static gboolean
relay_resent_10 (gpointer data)
{
  RelayFixture *fx = data;
  TestPeer *buyer = g_ptr_array_index (fx->buyers, 0);
  KmgRelayStats stats;

  kmg_relay_get_stats (fx->relay, &stats);
  return stats.retransmissions_sent >= 10 && buyer->frames >= 60;
}

/* A buyer losing every 20th packet NACKs them: the relay resends them, and counts what it resent,
 * on the fan-out (its history) as on a webrtcbin leg (the leg's own RTX sender). */
static void
check_nacks_answered (gboolean direct_udp)
{
  RelayFixture fx;
  KmgRelayStats stats;
  KmgRelayConfig *config = kmg_relay_config_new ();

  config->direct_udp = direct_udp;
  relay_fixture_init (&fx, config);
  fx.buyer_drop_every = 20;
  TestPeer *buyer = relay_fixture_add_buyer (&fx, "session-a", FALSE);
  gboolean resent = relay_fixture_run_until (relay_resent_10, &fx, 30000);
  kmg_relay_get_stats (fx.relay, &stats);
  g_test_message ("dropped %d, resent %" G_GUINT64_FORMAT ", refused %" G_GUINT64_FORMAT ", frames %d",
                  g_atomic_int_get (&buyer->rtp_dropped), stats.retransmissions_sent, stats.retransmissions_refused,
                  g_atomic_int_get (&buyer->frames));
  g_assert_true (resent);
  g_assert_cmpuint (stats.buyer_legs_direct, ==, direct_udp ? 1 : 0);
  g_assert_cmpint (g_atomic_int_get (&buyer->rtp_dropped), >=, 5);
  relay_fixture_clear (&fx);
}

static void
test_nacks_answered_fanout (void)
{
  check_nacks_answered (TRUE);
}

static void
test_nacks_answered_webrtcbin (void)
{
  check_nacks_answered (FALSE);
}

static gboolean
peers_have_end_markers (gpointer data)
{
  RelayFixture *fx = data;
  TestPeer *buyer = g_ptr_array_index (fx->buyers, 0);
  return buyer->frames >= 10 && buyer->relay_end_markers > 0 && fx->seller->relay_end_markers > 0;
}

/* A client that matches candidates by mid alone (as the W3C API allows) must find the m-line:
 * every candidate names the a=mid of its m-line in the relay's own description, and gathering
 * ends with one end-of-candidates marker, for buyer and seller legs alike. */
static void
test_candidates_carry_mid (void)
{
  RelayFixture fx;

  relay_fixture_init (&fx, NULL);
  relay_fixture_add_buyer (&fx, "session-a", FALSE);
  g_assert_true (relay_fixture_run_until (peers_have_end_markers, &fx, 20000));
  relay_fixture_run_for (500); /* nothing may follow the end marker */
  TestPeer *peers[] = { fx.seller, g_ptr_array_index (fx.buyers, 0) };
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      g_assert_cmpint (peers[i]->relay_candidates, >, 0);
      g_assert_cmpint (peers[i]->relay_candidates_mid_ok, ==, peers[i]->relay_candidates);
      g_assert_cmpint (peers[i]->relay_end_markers, ==, 1);
    }
  relay_fixture_clear (&fx);
}

static GstPadProbeReturn
drop_all (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_DROP;
}

static gboolean
seller_disconnected (gpointer data)
{
  return ((RelayFixture *) data)->seller_state == KMG_RELAY_LEG_STATE_DISCONNECTED;
}

static gboolean
seller_connected (gpointer data)
{
  return ((RelayFixture *) data)->seller_state == KMG_RELAY_LEG_STATE_CONNECTED;
}

/* A seller whose media stops while ICE stays up (its uplink died, keepalives aside) is reported
 * disconnected within a few seconds, so the session's reconnecting path starts; when the media
 * comes back the leg is connected again and buyers decode on. */
static void
test_silent_seller_disconnected (void)
{
  RelayFixture fx;

  relay_fixture_init (&fx, NULL);
  TestPeer *buyer = relay_fixture_add_buyer (&fx, "session-a", FALSE);
  g_assert_true (relay_fixture_run_until (peer_decoded_10, buyer, 20000));
  g_assert_cmpint (fx.seller_state, ==, KMG_RELAY_LEG_STATE_CONNECTED);

  g_autoptr (GstPad) sink = gst_element_get_static_pad (fx.seller->webrtc, "sink_0");
  g_assert_nonnull (sink);
  gulong probe = gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, drop_all,
                                    NULL, NULL);
  gint64 cut_us = g_get_monotonic_time ();
  g_assert_true (relay_fixture_run_until (seller_disconnected, &fx, 8000));
  gint64 noticed_ms = (g_get_monotonic_time () - cut_us) / 1000;
  g_test_message ("seller silence noticed after %" G_GINT64_FORMAT " ms", noticed_ms);
  g_assert_cmpint (noticed_ms, >=, KMG_RELAY_SELLER_SILENCE_MS - 1000);

  gst_pad_remove_probe (sink, probe);
  g_assert_true (relay_fixture_run_until (seller_connected, &fx, 8000));
  gint before = g_atomic_int_get (&buyer->frames);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_atomic_int_get (&buyer->frames) < before + 10 && g_get_monotonic_time () < deadline)
    relay_fixture_run_for (100);
  g_assert_cmpint (g_atomic_int_get (&buyer->frames), >=, before + 10);
  relay_fixture_clear (&fx);
}

static void
test_stop_one_buyer (void)
{
  RelayFixture fx;
  KmgRelayStats stats;

  relay_fixture_init (&fx, NULL);
  TestPeer *p[2];
  p[0] = relay_fixture_add_buyer (&fx, "session-a", FALSE);
  p[1] = relay_fixture_add_buyer (&fx, "session-b", FALSE);
  g_assert_true (relay_fixture_run_until (both_decoded, p, 20000));

  kmg_relay_buyer_stop (p[0]->leg);
  /* Packets already inside the buyer's webrtcbin may still arrive for a moment. */
  relay_fixture_run_for (300);
  gint a_after_stop = g_atomic_int_get (&p[0]->rtp_packets);
  gint b_after_stop = g_atomic_int_get (&p[1]->rtp_packets);
  relay_fixture_run_for (1500);
  g_assert_cmpint (g_atomic_int_get (&p[0]->rtp_packets), ==, a_after_stop);
  g_assert_cmpint (g_atomic_int_get (&p[1]->rtp_packets), >, b_after_stop + 10);
  g_assert_cmpint (p[0]->state, ==, KMG_RELAY_LEG_STATE_CLOSED);
  g_assert_null (p[0]->leg); /* the fixture forgets the handle on CLOSED */
  kmg_relay_get_stats (fx.relay, &stats);
  g_assert_cmpuint (stats.buyer_legs, ==, 1);
  g_assert_cmpuint (stats.seller_legs, ==, 1);

  /* The last buyer leaving takes the seller leg down. */
  kmg_relay_buyer_stop (p[1]->leg);
  relay_fixture_run_for (300);
  kmg_relay_get_stats (fx.relay, &stats);
  g_assert_cmpuint (stats.buyer_legs, ==, 0);
  g_assert_cmpuint (stats.seller_legs, ==, 0);
  g_assert_cmpint (fx.seller_state, ==, KMG_RELAY_LEG_STATE_CLOSED);
  g_assert_null (kmg_relay_get_seller_leg (fx.relay, RELAY_FIXTURE_SELLER_ID));
  relay_fixture_clear (&fx);
}

static gboolean
all_decoded (gpointer data)
{
  GPtrArray *peers = data;
  for (guint i = 0; i < peers->len; i++)
    if (!peer_decoded_10 (g_ptr_array_index (peers, i)))
      return FALSE;
  return TRUE;
}

/* Viewers leaving together: every buyer stopped in the same main-loop iteration queues its
 * teardown; the seller leg must outlive all of them (it was freed by the first one). */
static void
test_stop_buyers_together (void)
{
  RelayFixture fx;
  KmgRelayStats stats;
  g_autoptr (GPtrArray) peers = g_ptr_array_new ();

  relay_fixture_init (&fx, NULL);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *tag = g_strdup_printf ("session-%u", i);
      g_ptr_array_add (peers, relay_fixture_add_buyer (&fx, tag, FALSE));
    }
  g_assert_true (relay_fixture_run_until (all_decoded, peers, 30000));

  for (guint i = 0; i < peers->len; i++)
    kmg_relay_buyer_stop (((TestPeer *) g_ptr_array_index (peers, i))->leg);
  relay_fixture_run_for (300);
  for (guint i = 0; i < peers->len; i++)
    {
      TestPeer *p = g_ptr_array_index (peers, i);
      g_assert_cmpint (p->state, ==, KMG_RELAY_LEG_STATE_CLOSED);
      g_assert_null (p->leg);
    }
  kmg_relay_get_stats (fx.relay, &stats);
  g_assert_cmpuint (stats.buyer_legs, ==, 0);
  g_assert_cmpuint (stats.seller_legs, ==, 0);
  g_assert_cmpint (fx.seller_state, ==, KMG_RELAY_LEG_STATE_CLOSED);
  g_assert_null (kmg_relay_get_seller_leg (fx.relay, RELAY_FIXTURE_SELLER_ID));
  relay_fixture_clear (&fx);
}

/* Buyers stopped just before the relay is freed: their queued teardowns must not run
 * against the freed seller afterwards. */
static void
test_stop_buyers_then_free (void)
{
  RelayFixture fx;

  relay_fixture_init (&fx, NULL);
  TestPeer *a = relay_fixture_add_buyer (&fx, "session-a", FALSE);
  TestPeer *b = relay_fixture_add_buyer (&fx, "session-b", TRUE);
  g_assert_true (relay_fixture_run_until (peer_decoded_10, a, 20000));
  kmg_relay_buyer_stop (a->leg);
  kmg_relay_buyer_stop (b->leg);
  relay_fixture_clear (&fx); /* runs the main loop after freeing the relay */
}

static void
test_silent_buyer_does_not_stall (void)
{
  RelayFixture fx;

  relay_fixture_init (&fx, NULL);
  TestPeer *silent = relay_fixture_add_buyer (&fx, "session-silent", TRUE);
  TestPeer *buyer = relay_fixture_add_buyer (&fx, "session-a", FALSE);
  g_assert_true (relay_fixture_run_until (peer_decoded_10, buyer, 20000));
  g_assert_cmpint (g_atomic_int_get (&silent->frames), ==, 0);
  g_assert_false (silent->first_rtp && silent->state == KMG_RELAY_LEG_STATE_CONNECTED);
  relay_fixture_clear (&fx);
}

static gboolean
peer_connected_and_decoded_10 (gpointer data)
{
  TestPeer *peer = data;
  return peer->state == KMG_RELAY_LEG_STATE_CONNECTED && peer_decoded_10 (peer);
}

/* A phone changes network: its relay connection is replaced by a new one (new ICE credentials
 * and DTLS) on the same leg, while the other viewer of the seller sees nothing of it. */
static void
test_restart_ice_on_buyer_leg (void)
{
  RelayFixture fx;
  KmgRelayStats before, after;
  g_autoptr (GError) error = NULL;

  relay_fixture_init (&fx, NULL);
  TestPeer *p[2];
  p[0] = relay_fixture_add_buyer (&fx, "session-a", FALSE);
  p[1] = relay_fixture_add_buyer (&fx, "session-b", FALSE);
  g_assert_true (relay_fixture_run_until (both_decoded, p, 20000));
  KmgRelayLeg *leg = p[0]->leg;
  KmgRelayLeg *seller_leg = kmg_relay_get_seller_leg (fx.relay, RELAY_FIXTURE_SELLER_ID);
  kmg_relay_get_stats (fx.relay, &before);

  /* The seller leg is not restarted this way (see docs/protocol.md). */
  g_assert_false (kmg_relay_leg_restart_ice (seller_leg, &error));
  g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE);
  g_clear_error (&error);

  relay_fixture_renew_buyer (&fx, p[0]);
  gint b_before = g_atomic_int_get (&p[1]->rtp_packets);
  g_assert_true (kmg_relay_leg_restart_ice (leg, &error));
  g_assert_no_error (error);
  g_assert_true (p[0]->leg == leg); /* same leg, same session */
  g_assert_true (relay_fixture_run_until (peer_connected_and_decoded_10, p[0], 20000));
  g_assert_true (p[0]->first_rtp);
  g_assert_cmpint (g_atomic_int_get (&p[1]->rtp_packets), >, b_before + 10);

  kmg_relay_get_stats (fx.relay, &after);
  g_assert_cmpuint (after.seller_legs, ==, 1);
  g_assert_cmpuint (after.buyer_legs, ==, 2);
  g_assert_true (kmg_relay_get_seller_leg (fx.relay, RELAY_FIXTURE_SELLER_ID) == seller_leg);
  g_assert_cmpint (fx.seller_state, ==, KMG_RELAY_LEG_STATE_CONNECTED);
  /* The new connection asked the seller for a keyframe (or the throttle held it back). */
  g_assert_cmpuint (after.keyframe_requests_forwarded + after.keyframe_requests_dropped, >,
                    before.keyframe_requests_forwarded + before.keyframe_requests_dropped);

  /* A stopped leg cannot be restarted. */
  kmg_relay_buyer_stop (leg);
  g_assert_false (kmg_relay_leg_restart_ice (leg, &error));
  g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE);
  relay_fixture_clear (&fx);
}

static void
test_denied_candidates_and_limits (void)
{
  RelayFixture fx;
  g_autoptr (GError) error = NULL;
  KmgRelayStats stats;
  KmgRelayConfig *config = kmg_relay_config_new ();

  config->max_legs_per_seller = 1;
  relay_fixture_init (&fx, config);
  TestPeer *buyer = relay_fixture_add_buyer (&fx, "session-a", TRUE);
  KmgRelayLeg *seller_leg = kmg_relay_get_seller_leg (fx.relay, RELAY_FIXTURE_SELLER_ID);
  const char *denied[] = {
    "candidate:1 1 UDP 2122260223 169.254.169.254 5000 typ host",
    "candidate:1 1 UDP 2122260223 ::ffff:169.254.169.254 5000 typ host",
    "candidate:1 1 UDP 2122260223 224.0.0.251 5353 typ host",
    "candidate:1 1 UDP 2122260223 0.0.0.0 9 typ host",
    "candidate:1 1 UDP 2122260223 fe80::1 5000 typ host",
    "candidate:1 1 UDP 2122260223 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 5000 typ host",
  };
  for (guint i = 0; i < G_N_ELEMENTS (denied); i++)
    {
      g_assert_false (kmg_relay_leg_add_remote_candidate (seller_leg, 0, denied[i], &error));
      g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS);
      g_clear_error (&error);
    }
  g_assert_false (kmg_relay_leg_add_remote_candidate (seller_leg, 0, "candidate:garbage", &error));
  g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (kmg_relay_leg_add_remote_candidate (seller_leg, 0,
      "candidate:1 1 UDP 2122260223 127.0.0.1 5000 typ host", &error));
  g_assert_no_error (error);
  kmg_relay_get_stats (fx.relay, &stats);
  g_assert_cmpuint (stats.candidates_denied, ==, G_N_ELEMENTS (denied));

  g_assert_false (kmg_relay_leg_set_remote_sdp (buyer->leg, "offer", "v=0", &error));
  g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_STATE);
  g_clear_error (&error);
  g_assert_null (kmg_relay_buyer_add (fx.relay, RELAY_FIXTURE_SELLER_ID, fx.last_session_id + 1, NULL, &error));
  g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_LIMIT);
  relay_fixture_clear (&fx);
}

/* The shared table through a live seller leg. The fixture allows loopback, so only rows denied
 * even then are sent: an accepted candidate would make the leg probe a real network. */
static void
test_denied_address_table (void)
{
  RelayFixture fx;
  KmgRelayStats stats;
  guint sent = 0;

  relay_fixture_init (&fx, NULL);
  relay_fixture_add_buyer (&fx, "session-a", TRUE);
  KmgRelayLeg *seller_leg = kmg_relay_get_seller_leg (fx.relay, RELAY_FIXTURE_SELLER_ID);
  g_assert_nonnull (seller_leg);
  for (guint i = 0; i < G_N_ELEMENTS (net_deny_cases); i++)
    {
      const NetDenyCase *c = &net_deny_cases[i];
      g_autofree char *line = g_strdup_printf ("candidate:1 1 UDP 2122260223 %s 5000 typ host", c->address);
      g_autoptr (GError) error = NULL;

      if (!net_deny_case_denied (c, fx.config->allow_loopback))
        continue;
      g_test_message ("%s", line);
      g_assert_false (kmg_relay_leg_add_remote_candidate (seller_leg, 0, line, &error));
      g_assert_error (error, KMG_RELAY_ERROR, KMG_RELAY_ERROR_DENIED_ADDRESS);
      sent++;
    }
  kmg_relay_get_stats (fx.relay, &stats);
  g_assert_cmpuint (sent, >, 20);
  g_assert_cmpuint (stats.candidates_denied, ==, sent);
  relay_fixture_clear (&fx);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/loopback/denied-candidates-and-limits", test_denied_candidates_and_limits);
  g_test_add_func ("/relay/loopback/denied-address-table", test_denied_address_table);
  g_test_add_func ("/relay/loopback/forward-and-deliver", test_forward_and_deliver);
  g_test_add_func ("/relay/loopback/forward-and-deliver-webrtcbin", test_forward_and_deliver_webrtcbin);
  g_test_add_func ("/relay/loopback/nacks-answered-fanout", test_nacks_answered_fanout);
  g_test_add_func ("/relay/loopback/nacks-answered-webrtcbin", test_nacks_answered_webrtcbin);
  g_test_add_func ("/relay/loopback/candidates-carry-mid", test_candidates_carry_mid);
  g_test_add_func ("/relay/loopback/silent-seller-disconnected", test_silent_seller_disconnected);
  g_test_add_func ("/relay/loopback/stop-one-buyer", test_stop_one_buyer);
  g_test_add_func ("/relay/loopback/stop-buyers-together", test_stop_buyers_together);
  g_test_add_func ("/relay/loopback/stop-buyers-then-free", test_stop_buyers_then_free);
  g_test_add_func ("/relay/loopback/silent-buyer-does-not-stall", test_silent_buyer_does_not_stall);
  g_test_add_func ("/relay/loopback/restart-ice-on-buyer-leg", test_restart_ice_on_buyer_leg);
  return g_test_run ();
}
