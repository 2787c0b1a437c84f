/* kmg-ws-proto.c — pure pieces of the WebSocket protocol: envelope, errors, token bucket, map items
 * and their diffs. Everything here is driven by untrusted input or ends up on the wire, and has no
 * I/O, so it is unit-tested directly. */

#include "kmg-ws-proto.h"

#include "kmg-json.h"

#include <gio/gio.h>

#include <math.h>
#include <string.h>

/* ---- integer refs, checked on the raw text ----
 * json-glib reads an integer beyond 64 bits into a gint64 without a word (2^64 comes back as -1,
 * 2^63 as -2^63) and also takes 0x10 and 05. A ref is echoed so that the client can match the
 * reply: it must be the very number sent, or refused. */

static gsize
skip_ws (const char *d, gsize len, gsize i)
{
  while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
    i++;
  return i;
}

/* Index just past the string that starts at @i (a '"'), or 0 when it does not end. */
static gsize
skip_string (const char *d, gsize len, gsize i)
{
  for (i++; i < len; i++)
    {
      if (d[i] == '\\')
        i++;
      else if (d[i] == '"')
        return i + 1;
    }
  return 0;
}

/* Index of the ',' or '}' that ends the member value starting at @i, or 0. Comments and single
 * quotes (json-glib extensions) are not followed: 0 as well. */
static gsize
skip_value (const char *d, gsize len, gsize i)
{
  int depth = 0;

  while (i < len)
    {
      char c = d[i];

      if (c == '"')
        {
          if ((i = skip_string (d, len, i)) == 0)
            return 0;
          continue;
        }
      if (c == '{' || c == '[')
        depth++;
      else if (c == '}' || c == ']')
        {
          if (depth == 0)
            return c == '}' ? i : 0;
          depth--;
        }
      else if (c == ',' && depth == 0)
        return i;
      else if (c == '/' || c == '\'')
        return 0;
      i++;
    }
  return 0;
}

static gboolean
key_is_ref (const char *raw, gsize n)
{
  g_autofree char *text = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (memchr (raw, '\\', n) == NULL)
    return n == 5 && memcmp (raw, "\"ref\"", 5) == 0;
  text = g_strndup (raw, n); /* an escaped key, rare: let json-glib decode it */
  node = json_from_string (text, NULL);
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
         && strcmp (json_node_get_string (node), "ref") == 0;
}

/* -?(0|[1-9][0-9]*) within gint64, as the raw text of a value (trailing blanks allowed). */
static gboolean
is_int64_literal (const char *raw, gsize n)
{
  g_autofree char *text = NULL;
  gsize digits;
  gint64 v;

  while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\t' || raw[n - 1] == '\n' || raw[n - 1] == '\r'))
    n--;
  digits = n > 0 && raw[0] == '-' ? 1 : 0;
  if (digits >= n || (raw[digits] == '0' && n - digits > 1))
    return FALSE;
  for (gsize i = digits; i < n; i++)
    if (!g_ascii_isdigit (raw[i]))
      return FALSE;
  text = g_strndup (raw, n);
  return g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &v, NULL);
}

/* Every top-level "ref" member of the object in @d (duplicates included: json-glib keeps the
 * last) is a decimal integer within gint64. FALSE when the text cannot be followed. */
static gboolean
int_refs_exact (const char *d, gsize len)
{
  gsize i = skip_ws (d, len, 0);
  guint seen = 0;

  if (i >= len || d[i] != '{')
    return FALSE;
  i = skip_ws (d, len, i + 1);
  while (i < len)
    {
      gsize key = i, key_end, value, value_end;

      if (d[i] != '"' || (key_end = skip_string (d, len, i)) == 0)
        return FALSE;
      i = skip_ws (d, len, key_end);
      if (i >= len || d[i] != ':')
        return FALSE;
      value = skip_ws (d, len, i + 1);
      if ((value_end = skip_value (d, len, value)) == 0)
        return FALSE;
      if (key_is_ref (d + key, key_end - key))
        {
          if (!is_int64_literal (d + value, value_end - value))
            return FALSE;
          seen++;
        }
      if (d[value_end] == '}')
        return seen > 0;
      i = skip_ws (d, len, value_end + 1);
    }
  return FALSE;
}

gboolean
kmg_ws_envelope_parse (const char *data, gsize len, JsonObject **msg, const char **type,
                       JsonNode **ref, GError **error)
{
  g_autoptr (JsonObject) obj = NULL;
  JsonNode *ref_node;

  *msg = NULL;
  *type = NULL;
  *ref = NULL;
  obj = kmg_json_parse_object (data, len, error);
  if (obj == NULL)
    return FALSE;

  ref_node = json_object_get_member (obj, "ref");
  if (ref_node != NULL)
    {
      GType vt = JSON_NODE_HOLDS_VALUE (ref_node) ? json_node_get_value_type (ref_node) : G_TYPE_INVALID;

      if (vt == G_TYPE_INT64 && int_refs_exact (data, len))
        *ref = ref_node;
      else if (vt == G_TYPE_STRING && g_utf8_strlen (json_node_get_string (ref_node), -1) <= KMG_WS_MAX_REF_LEN)
        *ref = ref_node;
      else
        {
          g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE,
                       "ref must be a decimal integer from -2^63 to 2^63-1 or a string of at most %d characters",
                       KMG_WS_MAX_REF_LEN);
          return FALSE;
        }
    }
  *msg = g_steal_pointer (&obj);
  if (!kmg_json_get_string (*msg, "type", TRUE, KMG_WS_MAX_TYPE_LEN, type, error))
    return FALSE;
  return TRUE;
}

char *
kmg_ws_address_key (const char *host)
{
  static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  g_autoptr (GInetAddress) addr = NULL;
  g_autoptr (GInetAddress) prefix = NULL;
  g_autofree char *text = NULL;
  guint8 bytes[16] = { 0 };
  const guint8 *b;

  g_return_val_if_fail (host != NULL, NULL);
  addr = g_inet_address_new_from_string (host);
  if (addr == NULL)
    return g_strdup (host);
  if (g_inet_address_get_family (addr) != G_SOCKET_FAMILY_IPV6)
    return g_inet_address_to_string (addr);
  b = g_inet_address_to_bytes (addr);
  if (memcmp (b, v4_mapped, sizeof v4_mapped) == 0)
    return g_strdup_printf ("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
  /* One subscriber usually gets a whole /64: counting its 2^64 addresses apart would be no cap. */
  memcpy (bytes, b, 8);
  prefix = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (prefix);
  return g_strconcat (text, "/64", NULL);
}

void
kmg_ws_append_json_string (GString *out, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  g_autofree char *valid = NULL;
  const char *run;

  /* A text frame must be UTF-8: replace rather than send (or drop) a broken message. */
  if (!g_utf8_validate (s, -1, NULL))
    s = valid = g_utf8_make_valid (s, -1);
  g_string_append_c (out, '"');
  run = s;
  for (const char *p = s; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      /* Copy safe runs in one go: most strings need no escape at all. */
      g_string_append_len (out, run, p - run);
      run = p + 1;
      g_string_append_c (out, '\\');
      if (c == '"' || c == '\\')
        g_string_append_c (out, (char) c);
      else
        {
          char u[5] = { 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };
          g_string_append_len (out, u, sizeof u);
        }
    }
  g_string_append (out, run);
  g_string_append_c (out, '"');
}

void
kmg_ws_append_int (GString *out, gint64 v)
{
  char buf[24];
  char *end = buf + sizeof buf, *p = end;
  /* Through guint64 so that G_MININT64 has a magnitude. */
  guint64 m = v < 0 ? (guint64) 0 - (guint64) v : (guint64) v;

  do
    *--p = (char) ('0' + m % 10);
  while ((m /= 10) > 0);
  if (v < 0)
    *--p = '-';
  g_string_append_len (out, p, end - p);
}

void
kmg_ws_append_fixed (GString *out, double v, guint decimals)
{
  static const gint64 pow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                                  1000000000 };
  char buf[48];
  char *end = buf + sizeof buf, *p = end;
  gint64 scaled, ip, fp;
  guint nd = MAX (decimals, 1);

  g_return_if_fail (decimals < G_N_ELEMENTS (pow10));
  if (!isfinite (v))
    {
      g_string_append (out, "null");
      return;
    }
  if (fabs (v) >= 1e9)
    {
      /* Would overflow the integer path below; nothing on the map is that large. */
      char b[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append (out, g_ascii_dtostr (b, sizeof b, v));
      return;
    }
  /* Integer digits instead of printf: exact for these magnitudes and many times faster. */
  scaled = llround (fabs (v) * (double) pow10[decimals]);
  ip = scaled / pow10[decimals];
  fp = scaled % pow10[decimals];
  while (nd > 1 && fp % 10 == 0)
    {
      fp /= 10;
      nd--;
    }
  for (guint i = 0; i < nd; i++, fp /= 10)
    *--p = (char) ('0' + fp % 10);
  *--p = '.';
  do
    *--p = (char) ('0' + ip % 10);
  while ((ip /= 10) > 0);
  if (v < 0 && scaled != 0)
    *--p = '-';
  g_string_append_len (out, p, end - p);
}

static void
append_head (GString *out, const char *type, JsonNode *ref)
{
  g_string_append (out, "{\"type\":");
  kmg_ws_append_json_string (out, type);
  if (ref != NULL)
    {
      g_autofree char *ref_text = kmg_json_to_string (ref);
      g_string_append (out, ",\"ref\":");
      g_string_append (out, ref_text);
    }
}

/* Splices the members of @body after what is already in @out; @body must not repeat type/ref. */
static void
append_body (GString *out, JsonObject *body)
{
  g_autofree char *text = NULL;
  gsize len;

  if (body == NULL || json_object_get_size (body) == 0)
    return;
  text = kmg_json_object_to_string (body);
  len = strlen (text);
  g_assert (len >= 2 && text[0] == '{' && text[len - 1] == '}');
  g_string_append_c (out, ',');
  g_string_append_len (out, text + 1, (gssize) len - 2);
}

char *
kmg_ws_envelope_build (const char *type, JsonNode *ref, JsonObject *body)
{
  GString *out = g_string_sized_new (128);

  append_head (out, type, ref);
  append_body (out, body);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

char *
kmg_ws_envelope_error (JsonNode *ref, const char *code, const char *message, JsonObject *extra)
{
  GString *out = g_string_sized_new (128);

  append_head (out, "error", ref);
  g_string_append (out, ",\"code\":");
  kmg_ws_append_json_string (out, code);
  g_string_append (out, ",\"message\":");
  kmg_ws_append_json_string (out, message);
  append_body (out, extra);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

gboolean
kmg_ws_check_fields (JsonObject *msg, const char *const *allowed, GError **error)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();

  g_ptr_array_add (all, (gpointer) "type");
  g_ptr_array_add (all, (gpointer) "ref");
  for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++)
    g_ptr_array_add (all, (gpointer) allowed[i]);
  g_ptr_array_add (all, NULL);
  return kmg_json_check_fields (msg, (const char *const *) all->pdata, error);
}

void
kmg_token_bucket_init (KmgTokenBucket *bucket, double rate, double burst, gint64 now_ms)
{
  bucket->rate = rate;
  bucket->burst = burst;
  bucket->tokens = burst;
  bucket->last_ms = now_ms;
}

gboolean
kmg_token_bucket_take (KmgTokenBucket *bucket, gint64 now_ms)
{
  if (now_ms > bucket->last_ms)
    {
      bucket->tokens = MIN (bucket->burst, bucket->tokens + bucket->rate * (double) (now_ms - bucket->last_ms) / 1000.0);
      bucket->last_ms = now_ms;
    }
  if (bucket->tokens < 1.0)
    return FALSE;
  bucket->tokens -= 1.0;
  return TRUE;
}

gboolean
kmg_bbox_contains (const KmgBbox *bbox, double lat, double lon)
{
  /* The map's own "inside" (antimeridian included), so a subscriber is re-queried exactly when a
   * change can alter its items. */
  const KmgMapViewport vp = { bbox->south, bbox->west, bbox->north, bbox->east, 0 };

  return kmg_map_viewport_contains (&vp, lat, lon);
}

/* No JSON object per item and no printf: snapshots of hundreds of items are written on the hot path. */
void
kmg_ws_append_map_item (GString *out, const KmgMapItem *it)
{
  g_string_append (out, "{\"id\":");
  kmg_ws_append_json_string (out, it->id);
  g_string_append (out, it->kind == KMG_MAP_ITEM_CLUSTER ? ",\"kind\":\"cluster\",\"lat\":"
                                                          : ",\"kind\":\"marker\",\"lat\":");
  kmg_ws_append_fixed (out, it->lat, 9);
  g_string_append (out, ",\"lon\":");
  kmg_ws_append_fixed (out, it->lon, 9);
  if (it->kind == KMG_MAP_ITEM_CLUSTER)
    {
      g_string_append (out, ",\"count\":");
      kmg_ws_append_int (out, it->count);
      g_string_append (out, ",\"streaming_count\":");
      kmg_ws_append_int (out, it->streaming_count);
      g_string_append_c (out, '}');
      return;
    }
  g_string_append (out, ",\"user_id\":");
  kmg_ws_append_int (out, it->user_id);
  g_string_append (out, it->status == KMG_MAP_STATUS_STREAMING ? ",\"status\":\"streaming\""
                                                                : ",\"status\":\"online\"");
  if (it->profile)
    {
      g_string_append (out, ",\"username\":");
      kmg_ws_append_json_string (out, it->profile->username);
      g_string_append (out, ",\"picture_url\":");
      if (it->profile->picture_url)
        kmg_ws_append_json_string (out, it->profile->picture_url);
      else
        g_string_append (out, "null");
      g_string_append (out, ",\"rating\":");
      kmg_ws_append_fixed (out, round (it->profile->rating * 100) / 100, 2);
      g_string_append (out, ",\"rating_count\":");
      kmg_ws_append_int (out, it->profile->rating_count);
    }
  g_string_append_c (out, '}');
}

JsonArray *
kmg_ws_map_result_to_array (const KmgMapResult *result)
{
  g_autoptr (GString) text = g_string_sized_new (256);
  JsonArray *items;

  g_return_val_if_fail (result != NULL, NULL);

  items = json_array_sized_new (result->n_items);
  for (guint i = 0; i < result->n_items; i++)
    {
      g_string_truncate (text, 0);
      kmg_ws_append_map_item (text, &result->items[i]);
      json_array_add_string_element (items, text->str);
    }
  return items;
}

void
kmg_ws_append_map_result (GString *out, const KmgMapResult *result)
{
  g_return_if_fail (result != NULL);

  g_string_append (out, "{\"items\":[");
  for (guint i = 0; i < result->n_items; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      kmg_ws_append_map_item (out, &result->items[i]);
    }
  g_string_append (out, result->truncated ? "],\"truncated\":true}" : "],\"truncated\":false}");
}

GHashTable *
kmg_map_items_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ref_string_release);
}

/* The id of a pre-serialised item: its text must open with {"id":" and the id holds no escape. */
static gboolean
raw_item_id (const char *text, guint index, const char **id, gsize *id_len, GError **error)
{
  static const char prefix[] = "{\"id\":\"";
  const char *start, *q;

  if (strncmp (text, prefix, sizeof prefix - 1) != 0)
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE,
                   "map item %u: serialised item must start with its id", index);
      return FALSE;
    }
  start = text + sizeof prefix - 1;
  q = strpbrk (start, "\"\\");
  if (q == NULL || *q != '"' || q == start || q - start > 128)
    {
      g_set_error (error, KMG_JSON_ERROR, KMG_JSON_ERROR_TYPE,
                   "map item %u: id must be 1 to 128 characters without escapes", index);
      return FALSE;
    }
  *id = start;
  *id_len = (gsize) (q - start);
  return TRUE;
}

GHashTable *
kmg_map_items_from_array (JsonArray *items, GError **error)
{
  g_autoptr (GHashTable) set = kmg_map_items_new ();
  guint n = items != NULL ? json_array_get_length (items) : 0;

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (items, i);
      const char *id = NULL;
      gsize id_len;
      g_autofree char *text = NULL;

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        {
          const char *raw = json_node_get_string (node);

          if (!raw_item_id (raw, i, &id, &id_len, error))
            return NULL;
          g_hash_table_replace (set, g_strndup (id, id_len), g_ref_string_new (raw));
          continue;
        }
      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          !kmg_json_get_string (json_node_get_object (node), "id", TRUE, 128, &id, error))
        {
          g_prefix_error (error, "map item %u: ", i);
          return NULL;
        }
      text = kmg_json_to_string (node);
      g_hash_table_replace (set, g_strdup (id), g_ref_string_new (text));
    }
  return g_steal_pointer (&set);
}

static gboolean
same_item (const char *a, const char *b)
{
  return a == b || strcmp (a, b) == 0;
}

static void
append_list_sep (GString *out, gboolean *first)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
}

gboolean
kmg_map_items_diff (GHashTable *old_items, GHashTable *new_items, GString *out)
{
  GHashTableIter iter;
  const char *id, *text;
  gsize start = out->len;
  gboolean changed = FALSE, first;

  g_string_append (out, "\"add\":[");
  first = TRUE;
  g_hash_table_iter_init (&iter, new_items);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &text))
    if (!g_hash_table_contains (old_items, id))
      {
        append_list_sep (out, &first);
        g_string_append (out, text);
        changed = TRUE;
      }

  g_string_append (out, "],\"update\":[");
  first = TRUE;
  g_hash_table_iter_init (&iter, new_items);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &text))
    {
      const char *old_text = g_hash_table_lookup (old_items, id);
      if (old_text != NULL && !same_item (old_text, text))
        {
          append_list_sep (out, &first);
          g_string_append (out, text);
          changed = TRUE;
        }
    }

  g_string_append (out, "],\"remove\":[");
  first = TRUE;
  g_hash_table_iter_init (&iter, old_items);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, NULL))
    if (!g_hash_table_contains (new_items, id))
      {
        append_list_sep (out, &first);
        kmg_ws_append_json_string (out, id);
        changed = TRUE;
      }
  g_string_append_c (out, ']');

  if (!changed)
    g_string_truncate (out, start);
  return changed;
}

void
kmg_map_items_append_array (GHashTable *items, GString *out)
{
  GHashTableIter iter;
  const char *text;
  gsize need = out->len + 2;
  gboolean first = TRUE;

  /* One allocation for the whole array: snapshots run to tens of kilobytes. */
  g_hash_table_iter_init (&iter, items);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &text))
    need += g_ref_string_length ((char *) text) + 1;
  if (need >= out->allocated_len)
    {
      gsize len = out->len;
      g_string_set_size (out, need);
      g_string_truncate (out, len);
    }

  g_string_append_c (out, '[');
  g_hash_table_iter_init (&iter, items);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &text))
    {
      gsize len = g_ref_string_length ((char *) text);

      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      g_string_append_len (out, text, (gssize) len);
    }
  g_string_append_c (out, ']');
}
