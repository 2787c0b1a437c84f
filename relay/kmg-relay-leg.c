/* kmg-relay-leg.c — the leg core: leg handles (refcount, hop to the main context, state and its
 * callback), the relay's error domain and debug category, and GStreamer helpers. Threads: any
 * thread may ref, unref and hop; everything else runs on the main context. */
#include "kmg-relay-leg.h"

#include "kmg-enum-names.h"

#include <gst/video/video.h>

GST_DEBUG_CATEGORY (kmg_relay_debug);

/* Every layer raises errors in the public header's domain, so it is defined at the bottom. */
G_DEFINE_QUARK (kmg-relay-error-quark, kmg_relay_error)

void
kmg_relay_debug_init (void)
{
  if (kmg_relay_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (kmg_relay_debug, "kamegor-relay", 0, "Kamegor media relay");
}

KmgRelayLeg *
kmg_relay_leg_new (gsize size, KmgRelay *relay, KmgSeller *seller, KmgRelayLegKind kind,
                   const KmgRelayLegRole *role, gint64 session_id)
{
  g_assert (size >= sizeof (KmgRelayLeg));
  KmgRelayLeg *leg = g_malloc0 (size);

  g_atomic_ref_count_init (&leg->ref);
  leg->context = g_main_context_ref (relay->context);
  leg->kind = kind;
  leg->role = role;
  leg->state = KMG_RELAY_LEG_STATE_NEW;
  leg->session_id = session_id;
  leg->seller_id = seller->id;
  leg->seller = seller;
  return leg;
}

KmgRelayLeg *
kmg_relay_leg_ref (KmgRelayLeg *leg)
{
  g_atomic_ref_count_inc (&leg->ref);
  return leg;
}

void
kmg_relay_leg_unref (KmgRelayLeg *leg)
{
  if (leg == NULL || !g_atomic_ref_count_dec (&leg->ref))
    return;
  g_main_context_unref (leg->context);
  g_free (leg->dtls_pem);
  g_free (leg->dtls_fingerprint);
  g_clear_pointer (&leg->early_candidates, g_ptr_array_unref);
  g_free (leg);
}

void
kmg_relay_leg_closure_unref (gpointer leg, GClosure *closure)
{
  kmg_relay_leg_unref (leg);
}

typedef struct
{
  KmgRelayLeg *leg;
  KmgLegHopFunc func;
  gpointer data;
  GDestroyNotify data_free;
} Hop;

static gboolean
hop_dispatch (gpointer user_data)
{
  Hop *hop = user_data;

  if (!hop->leg->stopped && hop->leg->seller != NULL)
    hop->func (hop->leg, hop->data);
  return G_SOURCE_REMOVE;
}

static void
hop_free (gpointer user_data)
{
  Hop *hop = user_data;

  if (hop->data_free != NULL && hop->data != NULL)
    hop->data_free (hop->data);
  kmg_relay_leg_unref (hop->leg);
  g_free (hop);
}

void
kmg_relay_leg_hop (KmgRelayLeg *leg, KmgLegHopFunc func, gpointer data, GDestroyNotify data_free)
{
  Hop *hop = g_new0 (Hop, 1);

  hop->leg = kmg_relay_leg_ref (leg);
  hop->func = func;
  hop->data = data;
  hop->data_free = data_free;
  g_main_context_invoke_full (leg->context, G_PRIORITY_DEFAULT, hop_dispatch, hop, hop_free);
}

gboolean
kmg_relay_element_is (GstElement *element, const char *factory)
{
  GstElementFactory *f = gst_element_get_factory (element);
  return f != NULL && g_str_equal (gst_plugin_feature_get_name (GST_PLUGIN_FEATURE (f)), factory);
}

GstElement *
kmg_relay_find_element (GstElement *bin, const char *factory)
{
  g_autoptr (GstIterator) it = gst_bin_iterate_recurse (GST_BIN (bin));
  GValue item = G_VALUE_INIT;
  GstElement *found = NULL;

  while (found == NULL && gst_iterator_next (it, &item) == GST_ITERATOR_OK)
    {
      GstElement *e = g_value_get_object (&item);
      if (kmg_relay_element_is (e, factory))
        found = gst_object_ref (e);
      g_value_reset (&item);
    }
  g_value_unset (&item);
  return found;
}

void
kmg_relay_probe_foreach_buffer (GstPadProbeInfo *info, GstBufferListFunc func, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    {
      GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
      func (&buffer, 0, user_data);
    }
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info), func, user_data);
}

void
kmg_relay_request_keyframe (GstPad *pad)
{
  gst_pad_push_event (pad, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

void
kmg_relay_leg_set_state (KmgRelayLeg *leg, KmgRelayLegState state)
{
  if (leg->state == state || leg->seller == NULL)
    return;
  KmgRelay *relay = leg->seller->relay;
  leg->state = state;
  GST_INFO ("leg of " KMG_LEG_FORMAT " -> %s", KMG_LEG_ARGS (leg), kmg_relay_leg_state_name (state));
  if (!relay->destroying && relay->cb.leg_state != NULL)
    relay->cb.leg_state (leg, state, relay->user_data);
}

static const KmgEnumName leg_states[] = {
  { KMG_RELAY_LEG_STATE_NEW, "new" },
  { KMG_RELAY_LEG_STATE_CONNECTING, "connecting" },
  { KMG_RELAY_LEG_STATE_CONNECTED, "connected" },
  { KMG_RELAY_LEG_STATE_DISCONNECTED, "disconnected" },
  { KMG_RELAY_LEG_STATE_FAILED, "failed" },
  { KMG_RELAY_LEG_STATE_CLOSED, "closed" },
};

const char *
kmg_relay_leg_state_name (KmgRelayLegState state)
{
  const char *name = KMG_ENUM_NAMES_TO_STRING (leg_states, state);

  return name != NULL ? name : "unknown";
}
