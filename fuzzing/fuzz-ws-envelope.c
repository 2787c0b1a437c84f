/* fuzz-ws-envelope.c — a WebSocket text frame through the envelope parser (type, ref, body), and
 * what we write back: an envelope that parses, rebuilt, parses to the same type, ref and members;
 * a refused one that still yields a ref is answered with an error that echoes that ref. */

#include "kmg-ws-proto.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

static void
check_same_ref (JsonNode *a, JsonNode *b)
{
  g_assert_true ((a == NULL) == (b == NULL));
  if (a != NULL)
    g_assert_true (json_node_equal (a, b));
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  static const char *const allowed[] = { "body", "session_id", NULL };
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GError) error = NULL;
  const char *type = NULL;
  JsonNode *ref = NULL;

  if (size > 1 << 16)
    return 0;
  if (!kmg_ws_envelope_parse ((const char *) data, size, &msg, &type, &ref, &error))
    {
      g_autoptr (JsonObject) back = NULL;
      const char *back_type = NULL;
      JsonNode *back_ref = NULL;

      g_assert_nonnull (error);
      g_assert_true (ref == NULL || msg != NULL);
      if (ref == NULL)
        return 0;
      g_autofree char *reply = kmg_ws_envelope_error (ref, "invalid_message", error->message, NULL);
      g_assert_true (kmg_ws_envelope_parse (reply, strlen (reply), &back, &back_type, &back_ref, NULL));
      g_assert_cmpstr (back_type, ==, "error");
      check_same_ref (ref, back_ref);
      return 0;
    }
  g_assert_null (error);
  g_assert_nonnull (type);
  g_assert_cmpuint (g_utf8_strlen (type, -1), <=, KMG_WS_MAX_TYPE_LEN);
  g_assert_true (json_object_get_member (msg, "type") != NULL);
  g_assert_true ((ref != NULL) == json_object_has_member (msg, "ref"));

  /* The members besides type and ref, written back behind a rebuilt envelope. */
  g_autoptr (JsonObject) body = json_object_new ();
  g_autoptr (GList) names = json_object_get_members (msg);
  for (GList *l = names; l != NULL; l = l->next)
    if (strcmp (l->data, "type") != 0 && strcmp (l->data, "ref") != 0)
      json_object_set_member (body, l->data, json_node_copy (json_object_get_member (msg, l->data)));
  g_autofree char *text = kmg_ws_envelope_build (type, ref, body);
  g_autoptr (JsonObject) again = NULL;
  const char *again_type = NULL;
  JsonNode *again_ref = NULL;
  g_autoptr (GError) again_error = NULL;

  if (!kmg_ws_envelope_parse (text, strlen (text), &again, &again_type, &again_ref, &again_error))
    g_error ("rebuilt envelope %s does not parse: %s", text, again_error->message);
  g_assert_cmpstr (again_type, ==, type);
  check_same_ref (ref, again_ref);
  g_assert_cmpuint (json_object_get_size (again), ==, json_object_get_size (msg));

  g_autoptr (GError) fields_error = NULL;
  gboolean fields_ok = kmg_ws_check_fields (msg, allowed, &fields_error);
  g_assert_true (fields_ok == (fields_error == NULL));
  return 0;
}
