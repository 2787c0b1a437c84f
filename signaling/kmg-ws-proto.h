/* kmg-ws-proto.h — pure pieces of the WebSocket protocol: the message envelope, error replies,
 * per-connection token buckets, bbox containment, the wire form of map items and map diffs.
 * No I/O; time comes in as now_ms. */
#pragma once

#include <json-glib/json-glib.h>

#include "kmg-map.h"

G_BEGIN_DECLS

#define KMG_WS_MAX_TYPE_LEN 64
#define KMG_WS_MAX_REF_LEN 64

/* Parses one text frame: a JSON object with a string `type` and an optional `ref` (string of at most
 * 64 characters or integer). On success *msg owns the object, *type and *ref borrow from it (*ref is
 * NULL when absent). On failure *ref may still be set (to echo it) and *msg then owns it. */
gboolean kmg_ws_envelope_parse (const char *data, gsize len, JsonObject **msg, const char **type,
                                JsonNode **ref, GError **error);

/* Serialises {"type":@type,"ref":@ref,...members of @body}; @ref and @body may be NULL. */
char *kmg_ws_envelope_build (const char *type, JsonNode *ref, JsonObject *body);
/* {"type":"error","ref":...,"code":...,"message":...,...@extra}. */
char *kmg_ws_envelope_error (JsonNode *ref, const char *code, const char *message, JsonObject *extra);

/* kmg_json_check_fields() that also allows the envelope members `type` and `ref`. */
gboolean kmg_ws_check_fields (JsonObject *msg, const char *const *allowed, GError **error);

typedef struct
{
  double rate;   /* tokens per second */
  double burst;  /* capacity */
  double tokens;
  gint64 last_ms;
} KmgTokenBucket;

void kmg_token_bucket_init (KmgTokenBucket *bucket, double rate, double burst, gint64 now_ms);
/* Takes one token; FALSE when empty (nothing taken). */
gboolean kmg_token_bucket_take (KmgTokenBucket *bucket, gint64 now_ms);

typedef struct
{
  double south, west, north, east; /* degrees; west > east crosses the antimeridian */
} KmgBbox;

typedef struct
{
  double lat, lon;
} KmgLatLon;

gboolean kmg_bbox_contains (const KmgBbox *bbox, double lat, double lon);

/* What a connection cap per client address counts by: an IPv4 address as is (an IPv4-mapped IPv6
 * one folded to it), an IPv6 address by its /64 (one subscriber's prefix), anything else as given. */
char *kmg_ws_address_key (const char *host);

/* Appends @s as a JSON string literal (quotes included); invalid UTF-8 is replaced, not copied. */
void kmg_ws_append_json_string (GString *out, const char *s);
/* Appends @v as a JSON number with at most @decimals (0..9) decimals, rounded half away from zero;
 * trailing zeros are dropped but one decimal is kept, so the value still reads as a double
 * ("12.5", "3.0"). Non-finite values become null (JSON has no form for them). */
void kmg_ws_append_fixed (GString *out, double v, guint decimals);

/* Appends @v in decimal (a JSON integer). */
void kmg_ws_append_int (GString *out, gint64 v);

/* The wire form of one map item, the same in a map.snapshot, a map.diff and GET /api/v1/map:
 * `{"id":...,"kind":"marker"|"cluster","lat":...,"lon":...,...}` with "id" first (see
 * kmg_map_items_from_array). Positions keep 9 decimals so a cell centre is written as the centre
 * itself (to 1e-9°), not a rounding of it; the rating keeps 2. */
void kmg_ws_append_map_item (GString *out, const KmgMapItem *item);
/* Every item of @result, each already serialised (a string element): what a map_query callback
 * returns (see KmgSignalingCallbacks). */
JsonArray *kmg_ws_map_result_to_array (const KmgMapResult *result);
/* The GET /api/v1/map body: `{"items":[...],"truncated":...}`. */
void kmg_ws_append_map_result (GString *out, const KmgMapResult *result);

/* A map item set: item id -> its serialised JSON (GRefString). Immutable once built, so subscribers
 * that saw the same query result share one table. */
GHashTable *kmg_map_items_new (void);
/* Builds an item set from a query result. Every element is either an object with a string `id`,
 * or that object already serialised as a string whose first member is its string `id` with no
 * escapes in it (`{"id":"u:42",...}`, see kmg_ws_append_json_string): producers that write the
 * text themselves skip a JSON object per item. Serialised elements are trusted as valid JSON. */
GHashTable *kmg_map_items_from_array (JsonArray *items, GError **error);
/* Appends `"add":[...],"update":[...],"remove":[...]` for @old -> @new to @out (without braces).
 * Returns FALSE (and appends nothing) when the two sets are equal. */
gboolean kmg_map_items_diff (GHashTable *old_items, GHashTable *new_items, GString *out);
/* Appends the items of @items as a JSON array. */
void kmg_map_items_append_array (GHashTable *items, GString *out);

G_END_DECLS
