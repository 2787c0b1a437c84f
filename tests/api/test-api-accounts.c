/* test-api-accounts.c — the accounts HTTP API against a real in-process server on loopback:
 * register, login, logout, tokens, profile, pictures, seller profiles and every error case. */

#include <stdlib.h>
#include <string.h>

#include "kmg-json.h"
#include "kmg-test-server.h"
#include "../accounts/picture-samples.h"
#include "../accounts/picture-tagged.h"

typedef struct
{
  KmgTestServer *ts;
} Fixture;

/* The same shape as the support response, with the object view filled in when there is one. */
typedef struct
{
  guint status;
  KmgTestResponse *raw;
  JsonObject *json; /* borrowed from raw */
  SoupMessageHeaders *headers;
  GBytes *body;
} Reply;

static void
reply_clear (Reply *r)
{
  g_clear_pointer (&r->raw, kmg_test_response_free);
}

static void
config_setup (KmgConfig *cfg)
{
  cfg->login_per_user_per_5min = 3;
  cfg->picture_max_bytes = 4096;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->ts = kmg_test_server_new (config_setup);
}

static void
few_registrations_setup (KmgConfig *cfg)
{
  config_setup (cfg);
  cfg->register_per_addr_per_hour = 3;
}

static void
fixture_setup_few_registrations (Fixture *f, gconstpointer data)
{
  f->ts = kmg_test_server_new (few_registrations_setup);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->ts, kmg_test_server_free);
}

/* One request; @body may be NULL, @len -1 for a NUL-terminated body. */
static void
request (Fixture *f, const char *method, const char *path, const char *token, const char *body,
         gssize len, Reply *out)
{
  g_autoptr (GBytes) b = body ? g_bytes_new (body, len < 0 ? strlen (body) : (gsize) len) : NULL;

  memset (out, 0, sizeof *out);
  out->raw = kmg_test_request_bytes (f->ts, method, path, token, "application/json", b);
  out->status = out->raw->status;
  out->headers = out->raw->headers;
  out->body = out->raw->body;
  if (out->raw->json && JSON_NODE_HOLDS_OBJECT (out->raw->json))
    out->json = json_node_get_object (out->raw->json);
}

static const char *
error_code (Reply *r)
{
  return kmg_test_response_error_code (r->raw);
}

/* Asserts the status and the API error code of one request. */
static void
expect_error (Fixture *f, const char *method, const char *path, const char *token, const char *body,
              guint status, const char *code)
{
  Reply r;

  request (f, method, path, token, body, -1, &r);
  g_test_message ("%s %s → %u %s", method, path, r.status, r.json ? error_code (&r) : "-");
  g_assert_cmpuint (r.status, ==, status);
  g_assert_cmpstr (error_code (&r), ==, code);
  g_assert_nonnull (json_object_get_string_member (json_object_get_object_member (r.json, "error"),
                                                   "message"));
  reply_clear (&r);
}

/* Registers @name and returns its token; *id gets the user id. */
static char *
register_user (Fixture *f, const char *name, gint64 *id)
{
  g_autofree char *body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"correct horse battery\","
                                           "\"display_name\":\"%s display\",\"device\":\"test\"}",
                                           name, name);
  Reply r;
  char *token;

  request (f, "POST", "/api/v1/auth/register", NULL, body, -1, &r);
  g_assert_cmpuint (r.status, ==, 201);
  token = g_strdup (json_object_get_string_member (r.json, "token"));
  g_assert_cmpuint (strlen (token), ==, 43);
  if (id)
    *id = json_object_get_int_member (json_object_get_object_member (r.json, "user"), "id");
  reply_clear (&r);
  return token;
}

static void
test_register_errors (Fixture *f, gconstpointer data)
{
  g_autofree char *tok = register_user (f, "alice", NULL);
  g_autofree char *big = NULL;

  g_assert_nonnull (tok);
  const char *reg = "/api/v1/auth/register";

  expect_error (f, "POST", reg, NULL, "{\"username\":\"ALICE\",\"password\":\"correct horse battery\"}",
                409, "username_taken");
  expect_error (f, "POST", reg, NULL, "{\"username\":\"1bad\",\"password\":\"correct horse battery\"}",
                400, "invalid_username");
  expect_error (f, "POST", reg, NULL, "{\"username\":\"admin\",\"password\":\"correct horse battery\"}",
                400, "invalid_username");
  expect_error (f, "POST", reg, NULL, "{\"username\":\"bobby\",\"password\":\"short\"}", 400,
                "invalid_password");
  expect_error (f, "POST", reg, NULL, "{\"username\":\"bobby\"", 400, "bad_json");
  expect_error (f, "POST", reg, NULL, "", 400, "bad_json");
  expect_error (f, "POST", reg, NULL, "[1]", 400, "bad_json");
  expect_error (f, "POST", reg, NULL, "{\"username\":42,\"password\":\"correct horse battery\"}", 400,
                "bad_type");
  expect_error (f, "POST", reg, NULL, "{\"username\":\"bobby\"}", 400, "missing_field");
  expect_error (f, "POST", reg, NULL,
                "{\"username\":\"bobby\",\"password\":\"correct horse battery\",\"role\":\"admin\"}",
                400, "unknown_field");
  expect_error (f, "POST", reg, NULL,
                "{\"username\":\"bobby\",\"password\":\"correct horse battery\",\"display_name\":\"a\\u0007b\"}",
                400, "invalid_value");
  big = g_strdup_printf ("{\"username\":\"bobby\",\"password\":\"%0*d\"}", 70 * 1024, 0);
  expect_error (f, "POST", reg, NULL, big, 413, "body_too_large");
  expect_error (f, "GET", reg, NULL, NULL, 405, "method_not_allowed");
}

static void
test_login_logout (Fixture *f, gconstpointer data)
{
  g_autofree char *t1 = register_user (f, "carol", NULL);
  g_autofree char *t2 = NULL;
  Reply r;

  request (f, "POST", "/api/v1/auth/login", NULL,
           "{\"username\":\"Carol\",\"password\":\"correct horse battery\",\"device\":\"phone\"}", -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (r.json, "expires_at"), >, g_get_real_time () / G_USEC_PER_SEC);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (r.json, "user"), "username"),
                   ==, "carol");
  t2 = g_strdup (json_object_get_string_member (r.json, "token"));
  reply_clear (&r);

  expect_error (f, "POST", "/api/v1/auth/login", NULL,
                "{\"username\":\"carol\",\"password\":\"wrong password\"}", 401, "invalid_credentials");
  expect_error (f, "POST", "/api/v1/auth/login", NULL,
                "{\"username\":\"nobody\",\"password\":\"wrong password\"}", 401, "invalid_credentials");
  expect_error (f, "POST", "/api/v1/auth/login", NULL, "{\"username\":\"carol\",\"password\":true}", 400,
                "bad_type");

  /* Logout revokes only the token that made the request. */
  request (f, "POST", "/api/v1/auth/logout", t1, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 204);
  reply_clear (&r);
  expect_error (f, "GET", "/api/v1/me", t1, NULL, 401, "unauthorized");
  expect_error (f, "POST", "/api/v1/auth/logout", t1, NULL, 401, "unauthorized");
  request (f, "GET", "/api/v1/me", t2, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  reply_clear (&r);

  /* 3 attempts per name per 5 min in this config: two used above, one more, then refused. */
  expect_error (f, "POST", "/api/v1/auth/login", NULL,
                "{\"username\":\"carol\",\"password\":\"wrong password\"}", 401, "invalid_credentials");
  expect_error (f, "POST", "/api/v1/auth/login", NULL,
                "{\"username\":\"carol\",\"password\":\"wrong password\"}", 429, "rate_limited");
  request (f, "POST", "/api/v1/auth/login", NULL,
           "{\"username\":\"carol\",\"password\":\"correct horse battery\"}", -1, &r);
  g_assert_cmpuint (r.status, ==, 429);
  g_assert_cmpint (atoi (soup_message_headers_get_one (r.headers, "Retry-After")), >, 0);
  reply_clear (&r);
}

static void
test_me_and_patch (Fixture *f, gconstpointer data)
{
  g_autofree char *tok = register_user (f, "dave", NULL);
  g_autofree char *before = NULL;
  Reply r;

  expect_error (f, "GET", "/api/v1/me", NULL, NULL, 401, "unauthorized");
  expect_error (f, "GET", "/api/v1/me", "garbage", NULL, 401, "unauthorized");
  expect_error (f, "GET", "/api/v1/me", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, 401, "unauthorized");

  request (f, "PATCH", "/api/v1/me", tok, "{\"display_name\":\"Dave\",\"price_per_minute\":40}", -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (r.json, "display_name"), ==, "Dave");
  g_assert_cmpint (json_object_get_int_member (r.json, "price_per_minute"), ==, 40);
  g_assert_false (json_object_has_member (r.json, "password_hash"));
  before = kmg_json_object_to_string (r.json);
  reply_clear (&r);

  expect_error (f, "PATCH", "/api/v1/me", tok, "{\"display_name\":\"X\",\"is_seller\":true}", 400,
                "consent_required");
  expect_error (f, "PATCH", "/api/v1/me", tok, "{\"display_name\":\"X\",\"price_per_minute\":0}", 400,
                "out_of_range");
  expect_error (f, "PATCH", "/api/v1/me", tok, "{\"display_name\":\"X\",\"price_per_minute\":\"7\"}", 400,
                "bad_type");
  expect_error (f, "PATCH", "/api/v1/me", tok, "{\"display_name\":\"X\",\"role\":\"admin\"}", 400,
                "unknown_field");
  expect_error (f, "PATCH", "/api/v1/me", tok, "{\"display_name\":\"X\",}", 400, "bad_json");
  expect_error (f, "PATCH", "/api/v1/me", tok, "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", 400,
                "bad_json");
  /* Nothing above changed anything. */
  request (f, "GET", "/api/v1/me", tok, NULL, -1, &r);
  {
    g_autofree char *after = kmg_json_object_to_string (r.json);
    g_assert_cmpstr (before, ==, after);
  }
  reply_clear (&r);

  request (f, "PATCH", "/api/v1/me", tok, "{\"is_seller\":true,\"location_consent\":true,\"always_relay\":true}",
           -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_true (json_object_get_boolean_member (r.json, "is_seller"));
  g_assert_true (json_object_get_boolean_member (r.json, "location_consent"));
  g_assert_true (json_object_get_boolean_member (r.json, "always_relay"));
  reply_clear (&r);
}

static void
test_tokens (Fixture *f, gconstpointer data)
{
  gint64 eve_id = 0;
  g_autofree char *a = register_user (f, "frank", NULL);
  g_autofree char *e = register_user (f, "eve", &eve_id);
  g_autofree char *path = NULL;
  gint64 eve_token_id;
  JsonArray *list;
  Reply r;

  request (f, "GET", "/api/v1/me/tokens", e, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  list = json_object_get_array_member (r.json, "tokens");
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (list, 0), "current"));
  eve_token_id = json_object_get_int_member (json_array_get_object_element (list, 0), "id");
  reply_clear (&r);

  /* Frank cannot see or revoke Eve's token: it looks exactly like a missing one. */
  path = g_strdup_printf ("/api/v1/me/tokens/%" G_GINT64_FORMAT, eve_token_id);
  expect_error (f, "DELETE", path, a, NULL, 404, "not_found");
  expect_error (f, "DELETE", "/api/v1/me/tokens/999999", a, NULL, 404, "not_found");
  expect_error (f, "DELETE", "/api/v1/me/tokens/abc", a, NULL, 404, "not_found");
  expect_error (f, "DELETE", "/api/v1/me/tokens/-1", a, NULL, 404, "not_found");
  expect_error (f, "DELETE", "/api/v1/me/tokens/99999999999999999999999", a, NULL, 404, "not_found");
  request (f, "GET", "/api/v1/me", e, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  reply_clear (&r);

  request (f, "DELETE", path, e, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 204);
  reply_clear (&r);
  expect_error (f, "GET", "/api/v1/me", e, NULL, 401, "unauthorized");
}

static void
put_picture (Fixture *f, const char *token, const void *data, gsize len, Reply *r)
{
  request (f, "PUT", "/api/v1/me/picture", token, data, (gssize) len, r);
}

static void
test_pictures (Fixture *f, gconstpointer data)
{
  g_autofree char *tok = register_user (f, "gina", NULL);
  g_autofree char *url = NULL;
  g_autofree guint8 *big = g_malloc0 (8192);
  Reply r;

  put_picture (f, tok, tiny_png, sizeof tiny_png, &r); /* sent as application/json: ignored */
  g_assert_cmpuint (r.status, ==, 200);
  url = g_strdup (json_object_get_string_member (r.json, "picture_url"));
  g_assert_true (g_str_has_prefix (url, "/media/pictures/"));
  reply_clear (&r);

  request (f, "GET", url, NULL, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (r.headers, NULL), ==, "image/png");
  g_assert_cmpstr (soup_message_headers_get_one (r.headers, "Cache-Control"), ==,
                   "public, max-age=31536000, immutable");
  g_assert_cmpmem (g_bytes_get_data (r.body, NULL), g_bytes_get_size (r.body), tiny_png, sizeof tiny_png);
  reply_clear (&r);

  put_picture (f, tok, "GIF89a not supported", 20, &r);
  g_assert_cmpuint (r.status, ==, 415);
  g_assert_cmpstr (error_code (&r), ==, "bad_picture");
  reply_clear (&r);
  memcpy (big, tiny_png, sizeof tiny_png);
  put_picture (f, tok, big, 8192, &r);
  g_assert_cmpuint (r.status, ==, 413);
  reply_clear (&r);
  expect_error (f, "PUT", "/api/v1/me/picture", NULL, "x", 401, "unauthorized");

  /* Replacing gives a new URL; the old one is gone. */
  put_picture (f, tok, tiny_lossless_webp, sizeof tiny_lossless_webp, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (r.json, "picture_url"), !=, url);
  reply_clear (&r);
  expect_error (f, "GET", url, NULL, NULL, 404, "not_found");
  /* An encoded traversal is refused (by the HTTP layer itself, 400, or by the id check, 404). */
  request (f, "GET", "/media/pictures/..%2F..%2Fkamegor.db", NULL, NULL, -1, &r);
  g_assert_true (r.status == 400 || r.status == 404);
  reply_clear (&r);
  expect_error (f, "GET", "/media/pictures/..", NULL, NULL, 404, "not_found");
  expect_error (f, "GET", "/media/pictures/abc", NULL, NULL, 404, "not_found");
}

static guint
count_picture_files (Fixture *f)
{
  g_autofree char *dir = g_build_filename (f->ts->data_dir, "pictures", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* Uploads @tagged as @tok's picture and returns the URL an anonymous visitor of the seller page
 * gets; the served bytes must be @clean exactly. */
static char *
upload_and_fetch (Fixture *f, const char *tok, const char *seller_path, GBytes *tagged,
                  const guint8 *clean, gsize clean_len, const char *content_type)
{
  char *url;
  Reply r;

  put_picture (f, tok, g_bytes_get_data (tagged, NULL), g_bytes_get_size (tagged), &r);
  g_assert_cmpuint (r.status, ==, 200);
  reply_clear (&r);
  request (f, "GET", seller_path, NULL, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  url = g_strdup (json_object_get_string_member (r.json, "picture_url"));
  reply_clear (&r);

  request (f, "GET", url, NULL, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (r.headers, NULL), ==, content_type);
  g_assert_false (tagged_contains (r.body, "KMG-MARKER"));
  g_assert_false (tagged_contains (r.body, "Exif"));
  if (clean != NULL)
    g_assert_cmpmem (g_bytes_get_data (r.body, NULL), g_bytes_get_size (r.body), clean, clean_len);
  reply_clear (&r);
  return url;
}

/* A seller's picture as anyone downloads it carries no metadata; its id hashes the stripped
 * bytes; huge declared dimensions are refused and store nothing. */
static void
test_picture_metadata (Fixture *f, gconstpointer data)
{
  gint64 id = 0;
  g_autofree char *tok = register_user (f, "ines", &id);
  g_autofree char *other = register_user (f, "jonas", NULL);
  g_autofree char *path = g_strdup_printf ("/api/v1/sellers/%" G_GINT64_FORMAT, id);
  g_autoptr (GBytes) jpeg = tagged_jpeg ();
  g_autoptr (GBytes) png = tagged_png ();
  g_autoptr (GBytes) webp = tagged_webp ();
  g_autofree char *url = NULL;
  g_autofree guint8 *huge = g_memdup2 (tiny_png, sizeof tiny_png);
  guint files;
  Reply r;

  request (f, "PATCH", "/api/v1/me", tok, "{\"is_seller\":true,\"location_consent\":true}", -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  reply_clear (&r);

  g_free (upload_and_fetch (f, tok, path, png, tiny_png, sizeof tiny_png, "image/png"));
  g_free (upload_and_fetch (f, tok, path, webp, NULL, 0, "image/webp"));
  url = upload_and_fetch (f, tok, path, jpeg, tiny_jpg, sizeof tiny_jpg, "image/jpeg");

  /* The same pixels without metadata are the same picture. */
  put_picture (f, other, tiny_jpg, sizeof tiny_jpg, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (r.json, "picture_url"), ==, url);
  reply_clear (&r);

  /* 2^31-1 x 2^31-1 declared in a 69-byte file. */
  files = count_picture_files (f);
  memcpy (huge + 16, "\x7f\xff\xff\xff\x7f\xff\xff\xff", 8);
  put_picture (f, tok, huge, sizeof tiny_png, &r);
  g_assert_cmpuint (r.status, ==, 415);
  g_assert_cmpstr (error_code (&r), ==, "bad_picture");
  g_assert_nonnull (strstr (json_object_get_string_member (
                              json_object_get_object_member (r.json, "error"), "message"),
                            "pixels"));
  reply_clear (&r);
  g_assert_cmpuint (count_picture_files (f), ==, files);
  request (f, "GET", "/api/v1/me", tok, NULL, -1, &r);
  g_assert_cmpstr (json_object_get_string_member (r.json, "picture_url"), ==, url);
  reply_clear (&r);
}

static void
test_seller_profile (Fixture *f, gconstpointer data)
{
  gint64 id = 0;
  g_autofree char *tok = register_user (f, "hana", &id);
  g_autofree char *path = g_strdup_printf ("/api/v1/sellers/%" G_GINT64_FORMAT, id);
  Reply r;

  expect_error (f, "GET", path, NULL, NULL, 404, "not_found");
  expect_error (f, "GET", "/api/v1/sellers/0", NULL, NULL, 404, "not_found");
  expect_error (f, "GET", "/api/v1/sellers/x1", NULL, NULL, 404, "not_found");
  request (f, "PATCH", "/api/v1/me", tok,
           "{\"is_seller\":true,\"location_consent\":true,\"seller_description\":\"Pottery\",\"price_per_minute\":12}",
           -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  reply_clear (&r);

  request (f, "GET", path, NULL, NULL, -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (r.json, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (r.json, "username"), ==, "hana");
  g_assert_cmpstr (json_object_get_string_member (r.json, "display_name"), ==, "hana display");
  g_assert_cmpstr (json_object_get_string_member (r.json, "description"), ==, "Pottery");
  g_assert_cmpint (json_object_get_int_member (r.json, "price_per_minute"), ==, 12);
  g_assert_true (json_object_has_member (r.json, "picture_url"));
  /* Private settings stay private. */
  g_assert_false (json_object_has_member (r.json, "always_relay"));
  g_assert_false (json_object_has_member (r.json, "location_consent"));
  reply_clear (&r);

  request (f, "PATCH", "/api/v1/me", tok, "{\"location_consent\":false}", -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_false (json_object_get_boolean_member (r.json, "is_seller"));
  reply_clear (&r);
  expect_error (f, "GET", path, NULL, NULL, 404, "not_found");
}

/* One address may not mint accounts at will (15 in 0.9 s used to pass): over
 * accounts.register_per_addr_per_hour, 429 rate_limited with Retry-After, as for login. A taken
 * name counts (probing names is limited too); a malformed request does not. */
static void
test_register_rate_limit (Fixture *f, gconstpointer data)
{
  g_autofree char *a = register_user (f, "reg_one", NULL);
  g_autofree char *b = register_user (f, "reg_two", NULL);
  Reply r;

  g_assert_nonnull (a); /* two accounts made: the third attempt is the limit's */
  g_assert_nonnull (b);
  expect_error (f, "POST", "/api/v1/auth/register", NULL,
                "{\"username\":\"reg_one\",\"password\":\"correct horse battery\"}", 409,
                "username_taken");
  expect_error (f, "POST", "/api/v1/auth/register", NULL,
                "{\"username\":\"x\",\"password\":\"correct horse battery\"}", 400,
                "invalid_username");
  request (f, "POST", "/api/v1/auth/register", NULL,
           "{\"username\":\"reg_three\",\"password\":\"correct horse battery\"}", -1, &r);
  g_assert_cmpuint (r.status, ==, 429);
  g_assert_cmpstr (error_code (&r), ==, "rate_limited");
  /* One of 3 tokens an hour comes back after 20 minutes (less what the test took). */
  g_assert_cmpint (atoi (soup_message_headers_get_one (r.headers, "Retry-After")), >, 1100);
  g_assert_cmpint (atoi (soup_message_headers_get_one (r.headers, "Retry-After")), <=, 1200);
  reply_clear (&r);
  /* Login is a different budget. */
  request (f, "POST", "/api/v1/auth/login", NULL,
           "{\"username\":\"reg_two\",\"password\":\"correct horse battery\"}", -1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  reply_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/api/accounts/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("register-errors", test_register_errors);
  ADD ("login-logout", test_login_logout);
  ADD ("me-and-patch", test_me_and_patch);
  ADD ("tokens", test_tokens);
  ADD ("pictures", test_pictures);
  ADD ("picture-metadata", test_picture_metadata);
  ADD ("seller-profile", test_seller_profile);
  g_test_add ("/api/accounts/register-rate-limit", Fixture, NULL, fixture_setup_few_registrations,
              test_register_rate_limit, fixture_teardown);
#undef ADD
  return g_test_run ();
}
