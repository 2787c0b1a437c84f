/* kmg-meter.c — kamegormeter: a passthrough element that counts RTP per wall-clock second
 * and drops all buffers on demand. Runs in the streaming thread; posts element messages. */

/**
 * SECTION:element-kamegormeter
 *
 * Counts video RTP packets and bytes going through it without touching them, and posts
 * one `kamegor-meter` element message per wall-clock second that carried media:
 * second (unix seconds, or element clock seconds in pipeline mode), packets, bytes
 * (payload), wire-bytes, ssrc, seq-first, seq-last, lost. RTCP is ignored.
 * Setting #KmgMeter:drop stops forwarding at once; the relay uses it when a session ends.
 *
 * |[
 * gst-launch-1.0 udpsrc caps=application/x-rtp ! kamegormeter payload-types=96 ! fakesink
 * ]|
 */
#include "kmg-meter.h"
#include "kmg-rtp-meter.h"

GST_DEBUG_CATEGORY_STATIC (kmg_meter_debug);
#define GST_CAT_DEFAULT kmg_meter_debug

enum
{
  PROP_0,
  PROP_PAYLOAD_TYPES,
  PROP_DROP,
  PROP_CLOCK_MODE,
  PROP_POST_MESSAGES,
  PROP_PACKETS,
  PROP_BYTES,
  PROP_DROPPED,
};

enum
{
  SIGNAL_FLUSH,
  N_SIGNALS,
};

static guint meter_signals[N_SIGNALS];

struct _KmgMeter
{
  GstBaseTransform parent;

  /* Properties and counters, all under the object lock. */
  char *payload_types;
  guint64 pt_set[2];
  gboolean pt_all;
  gboolean drop;
  KmgMeterClockMode clock_mode;
  gboolean post_messages;
  guint64 packets;
  guint64 bytes;
  guint64 dropped;
  KmgRtpMeter *meter;

  GstClock *realtime_clock; /* owns the periodic flush in realtime mode */
  GstClockID flush_id;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

G_DEFINE_TYPE (KmgMeter, kmg_meter, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (kamegormeter, "kamegormeter", GST_RANK_NONE, KMG_TYPE_METER);

GType
kmg_meter_clock_mode_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { KMG_METER_CLOCK_REALTIME, "Wall clock (unix seconds)", "realtime" },
    { KMG_METER_CLOCK_PIPELINE, "Element clock (seconds of clock time)", "pipeline" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("KmgMeterClockMode", values));
  return type;
}

static void kmg_meter_finalize (GObject *object);
static void kmg_meter_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void kmg_meter_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static GstFlowReturn kmg_meter_transform_ip (GstBaseTransform *trans, GstBuffer *buf);
static gboolean kmg_meter_start (GstBaseTransform *trans);
static gboolean kmg_meter_stop (GstBaseTransform *trans);
static gboolean kmg_meter_sink_event (GstBaseTransform *trans, GstEvent *event);
static void kmg_meter_flush (KmgMeter *self);

static void
kmg_meter_class_init (KmgMeterClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = kmg_meter_set_property;
  gobject_class->get_property = kmg_meter_get_property;
  gobject_class->finalize = kmg_meter_finalize;

  g_object_class_install_property (gobject_class, PROP_PAYLOAD_TYPES,
      g_param_spec_string ("payload-types", "Payload types",
          "Comma-separated RTP payload types to count (e.g. \"96,102\"); empty counts every RTP packet",
          "", G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_DROP,
      g_param_spec_boolean ("drop", "Drop",
          "Drop every buffer instead of forwarding it (takes effect on the next buffer)",
          FALSE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CLOCK_MODE,
      g_param_spec_enum ("clock-mode", "Clock mode",
          "Which clock defines a second: the wall clock, or the element clock (for tests)",
          KMG_TYPE_METER_CLOCK_MODE, KMG_METER_CLOCK_REALTIME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post a kamegor-meter element message for every second that carried media",
          TRUE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PACKETS,
      g_param_spec_uint64 ("packets", "Packets", "RTP packets forwarded and counted so far",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_BYTES,
      g_param_spec_uint64 ("bytes", "Bytes", "RTP payload bytes forwarded and counted so far",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      g_param_spec_uint64 ("dropped", "Dropped", "Buffers dropped while drop was set",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * KmgMeter::flush:
   *
   * Posts the open second if it is over; lets an application close seconds on its own
   * timer in pipeline clock mode, where no wall-clock timer runs.
   */
  meter_signals[SIGNAL_FLUSH] = g_signal_new_class_handler ("flush", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (kmg_meter_flush),
      NULL, NULL, NULL, G_TYPE_NONE, 0);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Kamegor RTP meter",
      "Filter/Network/RTP", "Counts forwarded RTP per second and drops on demand",
      "Kamegor");

  trans_class->transform_ip = GST_DEBUG_FUNCPTR (kmg_meter_transform_ip);
  trans_class->start = GST_DEBUG_FUNCPTR (kmg_meter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (kmg_meter_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (kmg_meter_sink_event);
  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api (KMG_TYPE_METER_CLOCK_MODE, 0);
  GST_DEBUG_CATEGORY_INIT (kmg_meter_debug, "kamegormeter", 0, "Kamegor RTP meter");
}

static void
kmg_meter_init (KmgMeter *self)
{
  self->payload_types = g_strdup ("");
  self->pt_all = TRUE;
  self->post_messages = TRUE;
  self->clock_mode = KMG_METER_CLOCK_REALTIME;
  self->meter = kmg_rtp_meter_new ();
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

static void
kmg_meter_finalize (GObject *object)
{
  KmgMeter *self = KMG_METER (object);

  g_free (self->payload_types);
  kmg_rtp_meter_free (self->meter);
  G_OBJECT_CLASS (kmg_meter_parent_class)->finalize (object);
}

static void
kmg_meter_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  KmgMeter *self = KMG_METER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_PAYLOAD_TYPES:
      {
        const char *text = g_value_get_string (value);
        if (kmg_rtp_pt_set_parse (text, self->pt_set, &self->pt_all))
          {
            g_free (self->payload_types);
            self->payload_types = g_strdup (text != NULL ? text : "");
          }
        else
          GST_WARNING_OBJECT (self, "ignoring malformed payload-types \"%s\"", text);
        break;
      }
    case PROP_DROP:
      self->drop = g_value_get_boolean (value);
      break;
    case PROP_CLOCK_MODE:
      self->clock_mode = g_value_get_enum (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
  GST_OBJECT_UNLOCK (self);
}

static void
kmg_meter_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  KmgMeter *self = KMG_METER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
    case PROP_PAYLOAD_TYPES:
      g_value_set_string (value, self->payload_types);
      break;
    case PROP_DROP:
      g_value_set_boolean (value, self->drop);
      break;
    case PROP_CLOCK_MODE:
      g_value_set_enum (value, self->clock_mode);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_PACKETS:
      g_value_set_uint64 (value, self->packets);
      break;
    case PROP_BYTES:
      g_value_set_uint64 (value, self->bytes);
      break;
    case PROP_DROPPED:
      g_value_set_uint64 (value, self->dropped);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
  GST_OBJECT_UNLOCK (self);
}

/* Called with the object lock held. */
static gint64
current_second_locked (KmgMeter *self)
{
  if (self->clock_mode == KMG_METER_CLOCK_REALTIME)
    return g_get_real_time () / G_USEC_PER_SEC;

  GstClock *clock = GST_ELEMENT_CLOCK (self);
  if (clock == NULL)
    return 0;
  return (gint64) (gst_clock_get_time (clock) / GST_SECOND);
}

static void
post_second (KmgMeter *self, const KmgMeterSecond *s)
{
  GstStructure *st = gst_structure_new (KMG_METER_MESSAGE_NAME,
      "second", G_TYPE_INT64, s->second,
      "packets", G_TYPE_UINT64, s->packets,
      "bytes", G_TYPE_UINT64, s->payload_bytes,
      "wire-bytes", G_TYPE_UINT64, s->wire_bytes,
      "ssrc", G_TYPE_UINT, s->ssrc,
      "seq-first", G_TYPE_UINT, (guint) (s->seq_first & 0xffff),
      "seq-last", G_TYPE_UINT, (guint) (s->seq_last & 0xffff),
      "lost", G_TYPE_UINT64, s->lost,
      NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), st));
}

static GstFlowReturn
kmg_meter_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  KmgMeter *self = KMG_METER (trans);
  GstMapInfo map;
  KmgRtpInfo info;
  KmgMeterSecond closed;
  gboolean have_closed = FALSE;
  gboolean post;

  GST_OBJECT_LOCK (self);
  if (self->drop)
    {
      self->dropped++;
      GST_OBJECT_UNLOCK (self);
      return GST_BASE_TRANSFORM_FLOW_DROPPED;
    }
  GST_OBJECT_UNLOCK (self);

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  KmgRtpKind kind = kmg_rtp_parse (map.data, map.size, &info);
  gsize wire_len = map.size;
  gst_buffer_unmap (buf, &map);
  if (kind != KMG_RTP_KIND_RTP)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  if (self->pt_all || kmg_rtp_pt_set_contains (self->pt_set, info.payload_type))
    {
      self->packets++;
      self->bytes += info.payload_len;
      have_closed = kmg_rtp_meter_add (self->meter, &info, wire_len,
                                       current_second_locked (self), &closed);
    }
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);

  if (have_closed && post)
    post_second (self, &closed);
  return GST_FLOW_OK;
}

static void
kmg_meter_flush (KmgMeter *self)
{
  KmgMeterSecond closed;
  gboolean have_closed;
  gboolean post;

  GST_OBJECT_LOCK (self);
  have_closed = kmg_rtp_meter_flush (self->meter, current_second_locked (self), &closed);
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);
  if (have_closed && post)
    post_second (self, &closed);
}

static gboolean
on_flush_timer (GstClock *clock, GstClockTime time, GstClockID id, gpointer user_data)
{
  kmg_meter_flush (KMG_METER (user_data));
  return TRUE;
}

static gboolean
kmg_meter_start (GstBaseTransform *trans)
{
  KmgMeter *self = KMG_METER (trans);
  KmgMeterClockMode mode;

  GST_OBJECT_LOCK (self);
  mode = self->clock_mode;
  GST_OBJECT_UNLOCK (self);
  if (mode != KMG_METER_CLOCK_REALTIME)
    return TRUE;

  /* Close each second shortly after it ends even when no later packet arrives to close it. */
  self->realtime_clock = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type", GST_CLOCK_TYPE_REALTIME, NULL);
  gst_object_ref_sink (self->realtime_clock);
  GstClockTime now = gst_clock_get_time (self->realtime_clock);
  GstClockTime first = (now / GST_SECOND + 1) * GST_SECOND + 20 * GST_MSECOND;
  self->flush_id = gst_clock_new_periodic_id (self->realtime_clock, first, GST_SECOND);
  gst_clock_id_wait_async (self->flush_id, on_flush_timer, gst_object_ref (self), gst_object_unref);
  return TRUE;
}

static gboolean
kmg_meter_stop (GstBaseTransform *trans)
{
  KmgMeter *self = KMG_METER (trans);
  KmgMeterSecond closed;
  gboolean have_closed;

  if (self->flush_id != NULL)
    {
      gst_clock_id_unschedule (self->flush_id);
      gst_clock_id_unref (self->flush_id);
      self->flush_id = NULL;
    }
  gst_clear_object (&self->realtime_clock);

  GST_OBJECT_LOCK (self);
  have_closed = kmg_rtp_meter_finish (self->meter, &closed) && self->post_messages;
  GST_OBJECT_UNLOCK (self);
  if (have_closed)
    post_second (self, &closed);
  return TRUE;
}

static gboolean
kmg_meter_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  KmgMeter *self = KMG_METER (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    {
      KmgMeterSecond closed;
      gboolean have_closed;

      GST_OBJECT_LOCK (self);
      have_closed = kmg_rtp_meter_finish (self->meter, &closed) && self->post_messages;
      GST_OBJECT_UNLOCK (self);
      if (have_closed)
        post_second (self, &closed);
    }
  return GST_BASE_TRANSFORM_CLASS (kmg_meter_parent_class)->sink_event (trans, event);
}

gboolean
kmg_meter_register_static (void)
{
  g_autoptr (GstElementFactory) factory = gst_element_factory_find ("kamegormeter");

  if (factory != NULL)
    return TRUE;
  return GST_ELEMENT_REGISTER (kamegormeter, NULL);
}
