/* kmg-json.h — strict decoding of untrusted JSON objects.
 * Owns the rules every request body and WebSocket message obeys: bounded depth, known fields only, exact types. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define KMG_JSON_ERROR (kmg_json_error_quark ())
GQuark kmg_json_error_quark (void);

typedef enum
{
  KMG_JSON_ERROR_SYNTAX,        /* not JSON, or nested too deep */
  KMG_JSON_ERROR_NOT_OBJECT,    /* top level is not an object */
  KMG_JSON_ERROR_UNKNOWN_FIELD, /* a member that is not allowed */
  KMG_JSON_ERROR_MISSING,       /* a required member is absent */
  KMG_JSON_ERROR_TYPE,          /* a member has the wrong type */
  KMG_JSON_ERROR_RANGE,         /* a member's value is out of range */
} KmgJsonError;

#define KMG_JSON_MAX_DEPTH 16

/* Parses @data (not NUL-terminated, @len bytes) as a JSON object.
 * Returns a new reference or NULL with @error set. */
JsonObject *kmg_json_parse_object (const char *data, gsize len, GError **error);

/* Fails with UNKNOWN_FIELD naming the first member not in the NULL-terminated @allowed. */
gboolean kmg_json_check_fields (JsonObject *obj, const char *const *allowed, GError **error);

/* Getters: when @required is FALSE and the member is absent, they return TRUE and leave *out alone.
 * A JSON null counts as absent only for optional members. */
gboolean kmg_json_get_string (JsonObject *obj, const char *name, gboolean required, gsize max_len,
                              const char **out, GError **error);
gboolean kmg_json_get_int (JsonObject *obj, const char *name, gboolean required, gint64 min,
                           gint64 max, gint64 *out, GError **error);
gboolean kmg_json_get_double (JsonObject *obj, const char *name, gboolean required, double min,
                              double max, double *out, GError **error);
gboolean kmg_json_get_bool (JsonObject *obj, const char *name, gboolean required, gboolean *out,
                            GError **error);
/* Optional object/array members; returns borrowed pointers. */
gboolean kmg_json_get_object (JsonObject *obj, const char *name, gboolean required,
                              JsonObject **out, GError **error);
gboolean kmg_json_get_array (JsonObject *obj, const char *name, gboolean required,
                             JsonArray **out, GError **error);

/* Serialises @node compactly; the result is owned by the caller. */
char *kmg_json_to_string (JsonNode *node);
char *kmg_json_object_to_string (JsonObject *obj);

G_END_DECLS
