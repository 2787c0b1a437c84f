/* test-http.c — the router against a real server on loopback: routing, errors, limits, ops routes. */
#include "kmg-test-server.h"

#include <string.h>

static void
test_healthz (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (NULL);
  g_autoptr (KmgTestResponse) r = kmg_test_request (ts, "GET", "/healthz", NULL, NULL);

  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (kmg_test_response_object (r), "status"), ==,
                   "ok");
}

static void
test_not_found_and_method (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (NULL);
  g_autoptr (KmgTestResponse) r1 = kmg_test_request (ts, "GET", "/api/v1/nothing-here", NULL, NULL);
  g_autoptr (KmgTestResponse) r2 = kmg_test_request (ts, "DELETE", "/healthz", NULL, NULL);

  g_assert_cmpuint (r1->status, ==, 404);
  g_assert_cmpstr (kmg_test_response_error_code (r1), ==, "not_found");
  g_assert_cmpuint (r2->status, ==, 405);
  g_assert_cmpstr (kmg_test_response_error_code (r2), ==, "method_not_allowed");
  g_assert_cmpstr (soup_message_headers_get_one (r2->headers, "Allow"), ==, "GET");
}

static void
test_body_too_large (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (NULL);
  g_autofree char *big = g_malloc0 (KMG_HTTP_MAX_BODY + 10);
  g_autoptr (GBytes) b = NULL;
  g_autoptr (KmgTestResponse) r = NULL;

  memset (big, 'a', KMG_HTTP_MAX_BODY + 9);
  b = g_bytes_new (big, KMG_HTTP_MAX_BODY + 9);
  r = kmg_test_request_bytes (ts, "POST", "/healthz", NULL, "application/json", b);
  g_assert_cmpuint (r->status, ==, 413);
  g_assert_cmpstr (kmg_test_response_error_code (r), ==, "body_too_large");
}

static void
test_metrics_count_requests (void)
{
  g_autoptr (KmgTestServer) ts = kmg_test_server_new (NULL);
  g_autoptr (KmgTestResponse) a = kmg_test_request (ts, "GET", "/healthz", NULL, NULL);
  g_autoptr (KmgTestResponse) b = kmg_test_request (ts, "GET", "/nope", NULL, NULL);
  g_autoptr (KmgTestResponse) m = kmg_test_request (ts, "GET", "/metrics", NULL, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (m->body, NULL), g_bytes_get_size (m->body));

  g_assert_cmpuint (a->status, ==, 200);
  g_assert_cmpuint (b->status, ==, 404);
  g_assert_cmpuint (m->status, ==, 200);
  g_assert_nonnull (
      strstr (text, "kamegor_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"));
  g_assert_nonnull (
      strstr (text, "kamegor_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"));
  g_assert_nonnull (strstr (text, "process_resident_memory_bytes "));
  g_assert_nonnull (strstr (text, "kamegor_db_errors_total 0"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/http/healthz", test_healthz);
  g_test_add_func ("/server/http/not-found-and-method", test_not_found_and_method);
  g_test_add_func ("/server/http/body-too-large", test_body_too_large);
  g_test_add_func ("/server/http/metrics-count-requests", test_metrics_count_requests);
  return g_test_run ();
}
