/* kmg-json.c — strict decoding of untrusted JSON objects.
 * Depth is checked on the raw bytes before json-glib sees them, so a deep document cannot exhaust the stack. */


#include "kmg-json.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (kmg-json-error-quark, kmg_json_error)

/* Scans brackets outside strings; JSON strings cannot contain raw quotes, so escapes are the only
 * subtlety. Also refuses the escape \u0000: json-glib would silently cut the string there; and
 * escapes JSON does not have, which json-glib reads as C ones: "\0" cuts the string too, and an
 * octal "\615" makes it invalid UTF-8. On a refused escape, *@bad_escape says why. */
static gboolean
scan_ok (const char *data, gsize len, const char **bad_escape)
{
  int depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (c == '\\')
            {
              if (i + 5 < len && memcmp (data + i + 1, "u0000", 5) == 0)
                {
                  *bad_escape = "strings must not contain \\u0000";
                  return FALSE;
                }
              if (i + 1 < len && memchr ("\"\\/bfnrtu", data[i + 1], 9) == NULL)
                {
                  *bad_escape = "invalid escape in a string";
                  return FALSE;
                }
              i++;
            }
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > KMG_JSON_MAX_DEPTH)
            return FALSE;
        }
      else if (c == '}' || c == ']')
        depth--;
    }
  return TRUE;
}

JsonObject *
kmg_json_parse_object (const char *data, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local = NULL;
  JsonNode *root;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len == 0)
    {
      g_set_error_literal (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX, "empty body, expected a JSON object");
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL)
    {
      g_set_error_literal (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX, "body contains a NUL byte");
      return NULL;
    }
  if (!g_utf8_validate (data, len, NULL))
    {
      g_set_error_literal (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX, "body is not valid UTF-8");
      return NULL;
    }
  const char *bad_escape = NULL;

  if (!scan_ok (data, len, &bad_escape))
    {
      if (bad_escape != NULL)
        g_set_error_literal (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX, bad_escape);
      else
        g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX,
                     "JSON nested deeper than %d levels", KMG_JSON_MAX_DEPTH);
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local))
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_SYNTAX, "invalid JSON: %s", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, KMG_JSON_ERROR, KMG_JSON_ERROR_NOT_OBJECT, "expected a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

gboolean
kmg_json_check_fields (JsonObject *obj, const char *const *allowed, GError **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (!g_strv_contains (allowed, name))
        {
          g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_UNKNOWN_FIELD, "unknown field '%s'", name);
          return FALSE;
        }
    }
  return TRUE;
}

/* TRUE with *@node set when the member is present and not null. FALSE otherwise, with @error set
 * when it was required: callers return "!error set" — absent optional members are fine. */
static gboolean
member (JsonObject *obj, const char *name, gboolean required, JsonNode **node, GError **error)
{
  *node = json_object_get_member (obj, name);
  if (*node != NULL && !JSON_NODE_HOLDS_NULL (*node))
    return TRUE;
  if (required)
    g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_MISSING, "field '%s' is required", name);
  return FALSE;
}

static gboolean
type_error (const char *name, const char *expected, GError **error)
{
  g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE, "field '%s' must be %s", name, expected);
  return FALSE;
}

gboolean
kmg_json_get_string (JsonObject *obj, const char *name, gboolean required, gsize max_len,
                     const char **out, GError **error)
{
  JsonNode *node = NULL;
  gboolean present = member (obj, name, required, &node, error);
  const char *s;

  if (!present)
    return !required; /* absent: fine unless required (then @error is set) */
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return type_error (name, "a string", error);
  s = json_node_get_string (node);
  if (max_len > 0 && g_utf8_strlen (s, -1) > (glong) max_len)
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE,
                   "field '%s' is longer than %" G_GSIZE_FORMAT " characters", name, max_len);
      return FALSE;
    }
  *out = s;
  return TRUE;
}

gboolean
kmg_json_get_int (JsonObject *obj, const char *name, gboolean required, gint64 min, gint64 max,
                  gint64 *out, GError **error)
{
  JsonNode *node = NULL;
  gboolean present = member (obj, name, required, &node, error);
  gint64 v;

  if (!present)
    return !required; /* absent: fine unless required (then @error is set) */
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return type_error (name, "an integer", error);
  v = json_node_get_int (node);
  if (v < min || v > max)
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE,
                   "field '%s' must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT, name, min,
                   max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

gboolean
kmg_json_get_double (JsonObject *obj, const char *name, gboolean required, double min, double max,
                     double *out, GError **error)
{
  JsonNode *node = NULL;
  gboolean present = member (obj, name, required, &node, error);
  double v;
  GType t;

  if (!present)
    return !required; /* absent: fine unless required (then @error is set) */
  t = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    return type_error (name, "a number", error);
  v = json_node_get_double (node);
  if (!isfinite (v) || v < min || v > max)
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_RANGE, "field '%s' must be between %g and %g",
                   name, min, max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

gboolean
kmg_json_get_bool (JsonObject *obj, const char *name, gboolean required, gboolean *out,
                   GError **error)
{
  JsonNode *node = NULL;
  gboolean present = member (obj, name, required, &node, error);

  if (!present)
    return !required; /* absent: fine unless required (then @error is set) */
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return type_error (name, "true or false", error);
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
kmg_json_get_object (JsonObject *obj, const char *name, gboolean required, JsonObject **out,
                     GError **error)
{
  JsonNode *node = NULL;
  gboolean present = member (obj, name, required, &node, error);

  if (!present)
    return !required; /* absent: fine unless required (then @error is set) */
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return type_error (name, "an object", error);
  *out = json_node_get_object (node);
  return TRUE;
}

gboolean
kmg_json_get_array (JsonObject *obj, const char *name, gboolean required, JsonArray **out,
                    GError **error)
{
  JsonNode *node = NULL;
  gboolean present = member (obj, name, required, &node, error);

  if (!present)
    return !required; /* absent: fine unless required (then @error is set) */
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return type_error (name, "an array", error);
  *out = json_node_get_array (node);
  return TRUE;
}

char *
kmg_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

char *
kmg_json_object_to_string (JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, obj);
  return kmg_json_to_string (node);
}
