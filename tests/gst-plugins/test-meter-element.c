/* test-meter-element.c — GstHarness tests for kamegormeter: passthrough, counting,
 * per-second messages on a test clock, RTCP ignored, drop mode. */
#include "kmg-meter.h"

#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <string.h>

typedef struct
{
  GstHarness *h;
  GstBus *bus;
} Fixture;

static GstBuffer *
make_rtp (guint8 pt, guint16 seq, guint32 ssrc, gsize payload)
{
  guint8 *data = g_malloc0 (12 + payload);
  data[0] = 0x80;
  data[1] = pt;
  data[2] = seq >> 8;
  data[3] = seq & 0xff;
  data[8] = ssrc >> 24;
  data[9] = (ssrc >> 16) & 0xff;
  data[10] = (ssrc >> 8) & 0xff;
  data[11] = ssrc & 0xff;
  memset (data + 12, seq & 0xff, payload);
  return gst_buffer_new_wrapped (data, 12 + payload);
}

static GstBuffer *
make_rtcp_rr (void)
{
  static const guint8 rr[8] = { 0x80, 201, 0, 1, 0, 0, 0, 9 };
  return gst_buffer_new_memdup (rr, sizeof rr);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const char *props = data;

  f->h = gst_harness_new ("kamegormeter");
  if (props != NULL)
    gst_util_set_object_arg (G_OBJECT (f->h->element), "clock-mode", props);
  f->bus = gst_bus_new ();
  gst_element_set_bus (f->h->element, f->bus);
  gst_harness_use_testclock (f->h);
  gst_harness_set_src_caps_str (f->h, "application/x-rtp,media=video,payload=96,clock-rate=90000");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gst_harness_teardown (f->h);
  gst_object_unref (f->bus);
}

static guint64
get_u64 (Fixture *f, const char *name)
{
  guint64 v = 0;
  g_object_get (f->h->element, name, &v, NULL);
  return v;
}

static const GstStructure *
pop_meter_message (Fixture *f, GstMessage **msg_out, GstClockTime timeout)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (f->bus, timeout, GST_MESSAGE_ELEMENT);
  *msg_out = msg;
  if (msg == NULL)
    return NULL;
  const GstStructure *s = gst_message_get_structure (msg);
  g_assert_true (gst_structure_has_name (s, KMG_METER_MESSAGE_NAME));
  return s;
}

static void
test_passthrough (Fixture *f, gconstpointer data)
{
  GstBuffer *in = make_rtp (96, 1, 5, 100);
  GstMapInfo a, b;
  g_autoptr (GstBuffer) copy = gst_buffer_copy_deep (in);

  g_assert_cmpint (gst_harness_push (f->h, in), ==, GST_FLOW_OK);
  g_autoptr (GstBuffer) out = gst_harness_pull (f->h);
  g_assert_true (out == in); /* the very same buffer: never copied or made writable */
  gst_buffer_map (out, &a, GST_MAP_READ);
  gst_buffer_map (copy, &b, GST_MAP_READ);
  g_assert_cmpmem (a.data, a.size, b.data, b.size);
  gst_buffer_unmap (out, &a);
  gst_buffer_unmap (copy, &b);
}

static void
test_counts_payload_types (Fixture *f, gconstpointer data)
{
  g_object_set (f->h->element, "payload-types", "96,98", NULL);
  for (guint i = 0; i < 5; i++)
    gst_harness_push (f->h, make_rtp (96, i, 5, 100));
  for (guint i = 0; i < 3; i++)
    gst_harness_push (f->h, make_rtp (97, i, 6, 50)); /* e.g. RTX: forwarded, not counted */
  gst_harness_push (f->h, make_rtp (98, 9, 5, 10));

  g_assert_cmpuint (gst_harness_buffers_received (f->h), ==, 9);
  g_assert_cmpuint (get_u64 (f, "packets"), ==, 6);
  g_assert_cmpuint (get_u64 (f, "bytes"), ==, 510);
}

static void
test_per_second_messages (Fixture *f, gconstpointer data)
{
  GstMessage *msg = NULL;
  const GstStructure *s;
  gint64 second = -1;
  guint64 packets = 0, bytes = 0, wire = 0, lost = 0;
  guint ssrc = 0;

  gst_harness_set_time (f->h, 10 * GST_SECOND);
  gst_harness_push (f->h, make_rtp (96, 100, 42, 100));
  gst_harness_push (f->h, make_rtp (96, 101, 42, 100));
  gst_harness_push (f->h, make_rtp (96, 103, 42, 100)); /* 102 lost */
  g_assert_null (pop_meter_message (f, &msg, 0));

  gst_harness_set_time (f->h, 11 * GST_SECOND + 500 * GST_MSECOND);
  gst_harness_push (f->h, make_rtp (96, 104, 42, 60));
  s = pop_meter_message (f, &msg, 0);
  g_assert_nonnull (s);
  g_assert_true (gst_structure_get (s, "second", G_TYPE_INT64, &second, "packets", G_TYPE_UINT64, &packets,
                                    "bytes", G_TYPE_UINT64, &bytes, "wire-bytes", G_TYPE_UINT64, &wire,
                                    "ssrc", G_TYPE_UINT, &ssrc, "lost", G_TYPE_UINT64, &lost, NULL));
  g_assert_cmpint (second, ==, 10);
  g_assert_cmpuint (packets, ==, 3);
  g_assert_cmpuint (bytes, ==, 300);
  g_assert_cmpuint (wire, ==, 336);
  g_assert_cmpuint (ssrc, ==, 42);
  g_assert_cmpuint (lost, ==, 1);
  gst_message_unref (msg);

  /* No later packet: the flush action closes second 11 once the clock is past it. */
  g_signal_emit_by_name (f->h->element, "flush");
  g_assert_null (pop_meter_message (f, &msg, 0));
  gst_harness_set_time (f->h, 14 * GST_SECOND);
  g_signal_emit_by_name (f->h->element, "flush");
  s = pop_meter_message (f, &msg, 0);
  g_assert_nonnull (s);
  gst_structure_get (s, "second", G_TYPE_INT64, &second, "packets", G_TYPE_UINT64, &packets, NULL);
  g_assert_cmpint (second, ==, 11);
  g_assert_cmpuint (packets, ==, 1);
  gst_message_unref (msg);

  /* Seconds without media produce no message. */
  g_signal_emit_by_name (f->h->element, "flush");
  g_assert_null (pop_meter_message (f, &msg, 0));
}

static void
test_realtime_timer (Fixture *f, gconstpointer data)
{
  GstMessage *msg = NULL;
  gint64 second = -1;
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;

  gst_harness_push (f->h, make_rtp (96, 1, 42, 100));
  /* The wall-clock timer closes the second without any further packet. */
  const GstStructure *s = pop_meter_message (f, &msg, 3 * GST_SECOND);
  g_assert_nonnull (s);
  gst_structure_get (s, "second", G_TYPE_INT64, &second, NULL);
  g_assert_cmpint (second, >=, before);
  g_assert_cmpint (second, <=, g_get_real_time () / G_USEC_PER_SEC);
  gst_message_unref (msg);
}

static void
test_rtcp_ignored (Fixture *f, gconstpointer data)
{
  GstMessage *msg = NULL;

  gst_harness_set_time (f->h, 1 * GST_SECOND);
  gst_harness_push (f->h, make_rtcp_rr ());
  gst_harness_push (f->h, make_rtcp_rr ());
  g_assert_cmpuint (gst_harness_buffers_received (f->h), ==, 2); /* still forwarded */
  g_assert_cmpuint (get_u64 (f, "packets"), ==, 0);
  gst_harness_set_time (f->h, 3 * GST_SECOND);
  g_signal_emit_by_name (f->h->element, "flush");
  g_assert_null (pop_meter_message (f, &msg, 0));
}

static void
test_drop_mode (Fixture *f, gconstpointer data)
{
  gst_harness_push (f->h, make_rtp (96, 1, 5, 10));
  g_object_set (f->h->element, "drop", TRUE, NULL);
  for (guint i = 2; i < 6; i++)
    g_assert_cmpint (gst_harness_push (f->h, make_rtp (96, i, 5, 10)), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_received (f->h), ==, 1);
  g_assert_cmpuint (get_u64 (f, "dropped"), ==, 4);
  g_assert_cmpuint (get_u64 (f, "packets"), ==, 1); /* dropped packets are not delivered */

  g_object_set (f->h->element, "drop", FALSE, NULL);
  gst_harness_push (f->h, make_rtp (96, 6, 5, 10));
  g_assert_cmpuint (gst_harness_buffers_received (f->h), ==, 2);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_assert_true (kmg_meter_register_static ());

#define ADD(path, fn, mode) g_test_add ("/gst-plugins/meter/" path, Fixture, mode, fixture_set_up, fn, fixture_tear_down)
  ADD ("passthrough-unchanged", test_passthrough, "pipeline");
  ADD ("counts-payload-types", test_counts_payload_types, "pipeline");
  ADD ("per-second-messages", test_per_second_messages, "pipeline");
  ADD ("realtime-timer", test_realtime_timer, "realtime");
  ADD ("rtcp-ignored", test_rtcp_ignored, "pipeline");
  ADD ("drop-mode", test_drop_mode, "pipeline");
#undef ADD
  return g_test_run ();
}
