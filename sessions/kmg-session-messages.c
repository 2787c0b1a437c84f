/* kmg-session-messages.c — the JSON messages the session logic sends to participants.
 * Field names here are protocol (sessions/README.md); no user ever gets the other party's address. */

#include "kmg-session-private.h"

static JsonObject *
msg_new (const char *type, gint64 session_id)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "type", type);
  json_object_set_int_member (o, "session_id", session_id);
  return o;
}

/* The buyer is told who it watches, the seller who watches: the other party's id only. */
static void
add_party (JsonObject *o, const KmgSession *s, KmgSessionRole role)
{
  json_object_set_string_member (o, "role", kmg_session_role_to_string (role));
  if (role == KMG_SESSION_ROLE_BUYER)
    json_object_set_int_member (o, "seller_id", s->seller);
  else
    json_object_set_int_member (o, "buyer_id", s->buyer);
}

JsonObject *
kmg_session_msg_offer (const KmgSession *s, gint64 answer_within_ms)
{
  JsonObject *o = msg_new ("session.offer", s->id);

  json_object_set_int_member (o, "buyer_id", s->buyer);
  json_object_set_int_member (o, "price_per_minute", s->price);
  json_object_set_int_member (o, "answer_within_ms", answer_within_ms);
  return o;
}

JsonObject *
kmg_session_msg_state (const KmgSession *s, KmgSessionRole role)
{
  gboolean ended = s->state == KMG_SESSION_ENDED;
  JsonObject *o = msg_new (ended ? "session.ended" : "session.state", s->id);

  json_object_set_string_member (o, "state", kmg_session_state_to_string (s->state));
  json_object_set_string_member (o, "path", kmg_session_path_to_string (s->path));
  add_party (o, s, role);
  json_object_set_int_member (o, "price_per_minute", s->price);
  if (ended)
    json_object_set_string_member (o, "reason", kmg_session_end_reason_to_string (s->end_reason));
  else
    json_object_set_boolean_member (o, "reconnecting", s->disconnected != 0);
  return o;
}

JsonObject *
kmg_session_msg_path (const KmgSession *s, KmgSessionRole role, gboolean fallback)
{
  gboolean relay = s->path == KMG_SESSION_PATH_RELAY;
  JsonObject *o = msg_new (relay ? "session.use_relay" : "session.use_p2p", s->id);

  json_object_set_string_member (o, "role", kmg_session_role_to_string (role));
  if (relay)
    {
      json_object_set_boolean_member (o, "fallback", fallback);
      if (role == KMG_SESSION_ROLE_SELLER)
        json_object_set_boolean_member (o, "offer_needed", FALSE);
    }
  else
    json_object_set_string_member (o, "initiator", "seller");
  return o;
}

JsonObject *
kmg_session_msg_signal (gint64 session_id, const char *from, KmgSessionPath path,
                        const KmgSessionSignal *signal)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "type", "signal");
  if (session_id > 0)
    json_object_set_int_member (o, "session_id", session_id);
  json_object_set_string_member (o, "from", from);
  json_object_set_string_member (o, "path", kmg_session_path_to_string (path));
  json_object_set_string_member (o, "kind", kmg_session_signal_kind_to_string (signal->kind));
  if (signal->kind == KMG_SESSION_SIGNAL_ICE_CANDIDATE)
    json_object_set_string_member (o, "candidate", signal->candidate);
  else
    json_object_set_string_member (o, "sdp", signal->sdp);
  if (signal->sdp_mid != NULL)
    json_object_set_string_member (o, "sdp_mid", signal->sdp_mid);
  if (signal->mline_index >= 0)
    json_object_set_int_member (o, "sdp_mline_index", signal->mline_index);
  return o;
}
