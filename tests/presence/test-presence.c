/* test-presence.c — unit tests of the presence state machine with a fake clock.
 * Every transition is recorded so tests can assert both the states and the absence of flaps. */

#include "kmg-presence.h"

#define GRACE_MS 20000

typedef struct
{
  gint64 user_id;
  KmgPresenceState old_state;
  KmgPresenceState new_state;
  KmgPresenceReason reason;
} Transition;

typedef struct
{
  KmgPresence *p;
  GArray *log; /* Transition */
} Fixture;

static void
on_changed (gint64 user_id, KmgPresenceState old_state, KmgPresenceState new_state,
            KmgPresenceReason reason, gpointer user_data)
{
  Fixture *f = user_data;
  Transition t = { user_id, old_state, new_state, reason };

  g_assert_cmpint (old_state, !=, new_state);
  g_array_append_val (f->log, t);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->log = g_array_new (FALSE, FALSE, sizeof (Transition));
  f->p = kmg_presence_new (GRACE_MS, on_changed, f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  kmg_presence_free (f->p);
  g_array_unref (f->log);
}

static void
assert_last (Fixture *f, gint64 user_id, KmgPresenceState old_state, KmgPresenceState new_state,
             KmgPresenceReason reason)
{
  Transition *t;

  g_assert_cmpuint (f->log->len, >, 0);
  t = &g_array_index (f->log, Transition, f->log->len - 1);
  g_assert_cmpint (t->user_id, ==, user_id);
  g_assert_cmpint (t->old_state, ==, old_state);
  g_assert_cmpint (t->new_state, ==, new_state);
  g_assert_cmpint (t->reason, ==, reason);
}

/* Connect + location: online once a foreground connection has a location. */
static void
bring_online (Fixture *f, guint64 conn, gint64 user, gboolean seller, gint64 now)
{
  kmg_presence_connect (f->p, conn, user, seller, now);
  kmg_presence_location (f->p, conn, now);
}

static void
test_foreground_background (Fixture *f, gconstpointer data)
{
  kmg_presence_connect (f->p, 1, 10, TRUE, 0);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_OFFLINE);
  g_assert_cmpuint (f->log->len, ==, 0);

  g_assert_true (kmg_presence_location (f->p, 1, 100));
  assert_last (f, 10, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_ONLINE, KMG_PRESENCE_REASON_LOCATION);

  g_assert_true (kmg_presence_set_foreground (f->p, 1, FALSE, 200));
  assert_last (f, 10, KMG_PRESENCE_ONLINE, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_REASON_BACKGROUND);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_OFFLINE);

  g_assert_true (kmg_presence_set_foreground (f->p, 1, TRUE, 300));
  assert_last (f, 10, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_ONLINE, KMG_PRESENCE_REASON_FOREGROUND);
  g_assert_cmpuint (f->log->len, ==, 3);

  /* A second location or a repeated foreground changes nothing. */
  kmg_presence_location (f->p, 1, 400);
  kmg_presence_set_foreground (f->p, 1, TRUE, 400);
  g_assert_cmpuint (f->log->len, ==, 3);
  g_assert_false (kmg_presence_set_foreground (f->p, 99, TRUE, 400));
}

static void
test_loss_grace_expires (Fixture *f, gconstpointer data)
{
  bring_online (f, 1, 10, TRUE, 0);
  kmg_presence_lost (f->p, 1, 1000);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_ONLINE);
  g_assert_cmpint (kmg_presence_next_deadline (f->p), ==, 1000 + GRACE_MS);

  g_assert_cmpint (kmg_presence_tick (f->p, 1000 + GRACE_MS - 1), ==, 1000 + GRACE_MS);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_ONLINE);

  g_assert_cmpint (kmg_presence_tick (f->p, 1000 + GRACE_MS), ==, -1);
  assert_last (f, 10, KMG_PRESENCE_ONLINE, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_REASON_GRACE_EXPIRED);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_OFFLINE);
}

static void
test_loss_reconnect_seamless (Fixture *f, gconstpointer data)
{
  guint before;

  bring_online (f, 1, 10, TRUE, 0);
  g_assert_true (kmg_presence_go_live (f->p, 10, 10, NULL));
  before = f->log->len;

  kmg_presence_lost (f->p, 1, 1000);
  kmg_presence_tick (f->p, 5000);
  bring_online (f, 2, 10, TRUE, 6000); /* same user, new connection, within grace */
  kmg_presence_tick (f->p, 1000 + GRACE_MS + 5000);
  g_assert_cmpint (kmg_presence_next_deadline (f->p), ==, -1);

  g_assert_cmpuint (f->log->len, ==, before); /* no offline/online flap */
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_STREAMING);
}

static void
test_lost_not_counting_is_immediate (Fixture *f, gconstpointer data)
{
  kmg_presence_connect (f->p, 1, 10, FALSE, 0);
  kmg_presence_lost (f->p, 1, 10);
  g_assert_cmpint (kmg_presence_next_deadline (f->p), ==, -1);
  g_assert_cmpuint (f->log->len, ==, 0);
}

static void
test_multi_device (Fixture *f, gconstpointer data)
{
  bring_online (f, 1, 10, FALSE, 0);
  kmg_presence_connect (f->p, 2, 10, FALSE, 10);
  g_assert_cmpuint (f->log->len, ==, 1);
  g_assert_cmpuint (kmg_presence_get_n_connections (f->p, 10), ==, 2);

  /* Phone goes to background, tablet still has no location: offline. */
  kmg_presence_set_foreground (f->p, 1, FALSE, 20);
  assert_last (f, 10, KMG_PRESENCE_ONLINE, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_REASON_BACKGROUND);
  kmg_presence_location (f->p, 2, 30);
  assert_last (f, 10, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_ONLINE, KMG_PRESENCE_REASON_LOCATION);

  /* Goodbye on the background phone changes nothing; goodbye on the tablet ends it. */
  kmg_presence_goodbye (f->p, 1, 40);
  g_assert_cmpuint (f->log->len, ==, 3);
  kmg_presence_goodbye (f->p, 2, 50);
  assert_last (f, 10, KMG_PRESENCE_ONLINE, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_REASON_GOODBYE);
  g_assert_cmpuint (kmg_presence_get_n_connections (f->p, 10), ==, 0);

  /* Another user's connections are independent. */
  bring_online (f, 3, 11, FALSE, 60);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_OFFLINE);
  g_assert_cmpint (kmg_presence_get_state (f->p, 11), ==, KMG_PRESENCE_ONLINE);
}

static void
test_go_live_rules (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (kmg_presence_go_live (f->p, 10, 0, &error));
  g_assert_error (error, KMG_PRESENCE_ERROR, KMG_PRESENCE_ERROR_NOT_ONLINE);
  g_clear_error (&error);

  bring_online (f, 1, 20, FALSE, 0);
  g_assert_false (kmg_presence_go_live (f->p, 20, 0, &error));
  g_assert_error (error, KMG_PRESENCE_ERROR, KMG_PRESENCE_ERROR_NOT_SELLER);
  g_clear_error (&error);

  bring_online (f, 2, 10, TRUE, 0);
  g_assert_true (kmg_presence_go_live (f->p, 10, 10, &error));
  g_assert_no_error (error);
  assert_last (f, 10, KMG_PRESENCE_ONLINE, KMG_PRESENCE_STREAMING, KMG_PRESENCE_REASON_GO_LIVE);

  g_assert_true (kmg_presence_stop_live (f->p, 10, 20));
  assert_last (f, 10, KMG_PRESENCE_STREAMING, KMG_PRESENCE_ONLINE, KMG_PRESENCE_REASON_STOP_LIVE);
  g_assert_false (kmg_presence_stop_live (f->p, 10, 30));

  /* Revoking the seller flag ends a stream. */
  g_assert_true (kmg_presence_go_live (f->p, 10, 40, NULL));
  kmg_presence_set_seller (f->p, 10, FALSE, 50);
  assert_last (f, 10, KMG_PRESENCE_STREAMING, KMG_PRESENCE_ONLINE, KMG_PRESENCE_REASON_REMOVED);
}

static void
test_streaming_seller_vanishes (Fixture *f, gconstpointer data)
{
  bring_online (f, 1, 10, TRUE, 0);
  bring_online (f, 2, 10, TRUE, 0);
  g_assert_true (kmg_presence_go_live (f->p, 10, 0, NULL));

  kmg_presence_lost (f->p, 1, 1000);
  kmg_presence_lost (f->p, 2, 3000);
  kmg_presence_tick (f->p, 1000 + GRACE_MS);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_STREAMING);
  g_assert_cmpint (kmg_presence_tick (f->p, 1000 + GRACE_MS + 1), ==, 3000 + GRACE_MS);

  kmg_presence_tick (f->p, 3000 + GRACE_MS);
  assert_last (f, 10, KMG_PRESENCE_STREAMING, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_REASON_GRACE_EXPIRED);

  /* Coming back later does not resume the stream: the seller must go live again. */
  bring_online (f, 3, 10, TRUE, 30000);
  g_assert_cmpint (kmg_presence_get_state (f->p, 10), ==, KMG_PRESENCE_ONLINE);
}

static void
test_goodbye_immediate (Fixture *f, gconstpointer data)
{
  bring_online (f, 1, 10, TRUE, 0);
  g_assert_true (kmg_presence_go_live (f->p, 10, 0, NULL));
  kmg_presence_goodbye (f->p, 1, 100);
  assert_last (f, 10, KMG_PRESENCE_STREAMING, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_REASON_GOODBYE);
  g_assert_cmpint (kmg_presence_next_deadline (f->p), ==, -1);
}

static void
test_remove_user_and_counts (Fixture *f, gconstpointer data)
{
  guint counts[KMG_PRESENCE_N_STATES];

  bring_online (f, 1, 10, TRUE, 0);
  bring_online (f, 2, 11, TRUE, 0);
  kmg_presence_connect (f->p, 3, 12, FALSE, 0);
  g_assert_true (kmg_presence_go_live (f->p, 11, 0, NULL));
  kmg_presence_lost (f->p, 2, 10);

  kmg_presence_count (f->p, counts);
  g_assert_cmpuint (counts[KMG_PRESENCE_OFFLINE], ==, 1);
  g_assert_cmpuint (counts[KMG_PRESENCE_ONLINE], ==, 1);
  g_assert_cmpuint (counts[KMG_PRESENCE_STREAMING], ==, 1);

  kmg_presence_remove_user (f->p, 11, 20);
  assert_last (f, 11, KMG_PRESENCE_STREAMING, KMG_PRESENCE_OFFLINE, KMG_PRESENCE_REASON_REMOVED);
  /* The stale grace entry of the removed connection is skipped. */
  g_assert_cmpint (kmg_presence_tick (f->p, 100000), ==, -1);
  kmg_presence_count (f->p, counts);
  g_assert_cmpuint (counts[KMG_PRESENCE_STREAMING], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/presence/foreground-background", test_foreground_background);
  ADD ("/presence/loss/grace-expires", test_loss_grace_expires);
  ADD ("/presence/loss/reconnect-within-grace", test_loss_reconnect_seamless);
  ADD ("/presence/loss/not-counting-is-immediate", test_lost_not_counting_is_immediate);
  ADD ("/presence/multi-device", test_multi_device);
  ADD ("/presence/go-live-rules", test_go_live_rules);
  ADD ("/presence/streaming-seller-vanishes", test_streaming_seller_vanishes);
  ADD ("/presence/goodbye-immediate", test_goodbye_immediate);
  ADD ("/presence/remove-user-and-counts", test_remove_user_and_counts);
#undef ADD
  return g_test_run ();
}
