/* test-listeners.c — listener lists: order, disconnection, disconnection while emitting. */

#include "kmg-listeners.h"

typedef void (*CountFunc) (int value, gpointer user_data);

typedef struct
{
  KmgListeners *list;
  GString *log;
  gulong self_id;
  char tag;
} Listener;

static void
marshal_count (GHook *hook, gpointer event)
{
  ((CountFunc) hook->func) (*(int *) event, hook->data);
}

static void
on_count (int value, gpointer user_data)
{
  Listener *l = user_data;
  g_string_append_printf (l->log, "%c%d ", l->tag, value);
}

static void
on_count_once (int value, gpointer user_data)
{
  Listener *l = user_data;
  on_count (value, l);
  kmg_listeners_disconnect (l->list, l->self_id);
}

static void
test_order_and_disconnect (void)
{
  KmgListeners list;
  g_autoptr (GString) log = g_string_new (NULL);
  Listener a = { &list, log, 0, 'a' }, b = { &list, log, 0, 'b' }, c = { &list, log, 0, 'c' };
  int v = 1;

  kmg_listeners_init (&list);
  g_assert_cmpuint (kmg_listeners_count (&list), ==, 0);
  kmg_listeners_emit (&list, marshal_count, &v); /* nobody listens: nothing happens */
  a.self_id = kmg_listeners_connect (&list, G_CALLBACK (on_count), &a);
  b.self_id = kmg_listeners_connect (&list, G_CALLBACK (on_count_once), &b);
  c.self_id = kmg_listeners_connect (&list, G_CALLBACK (on_count), &c);
  g_assert_cmpuint (a.self_id, >, 0);
  g_assert_cmpuint (b.self_id, !=, a.self_id);
  g_assert_cmpuint (kmg_listeners_count (&list), ==, 3);

  kmg_listeners_emit (&list, marshal_count, &v);
  g_assert_cmpstr (log->str, ==, "a1 b1 c1 ");
  g_assert_cmpuint (kmg_listeners_count (&list), ==, 2); /* b disconnected itself */

  v = 2;
  kmg_listeners_disconnect (&list, a.self_id);
  kmg_listeners_disconnect (&list, 0); /* no-op */
  kmg_listeners_emit (&list, marshal_count, &v);
  g_assert_cmpstr (log->str, ==, "a1 b1 c1 c2 ");
  kmg_listeners_clear (&list);
  g_assert_cmpuint (kmg_listeners_count (&list), ==, 0);
}

static void
test_clear_unset (void)
{
  KmgListeners list = { 0 };
  int v = 0;

  kmg_listeners_emit (&list, marshal_count, &v);
  g_assert_cmpuint (kmg_listeners_count (&list), ==, 0);
  kmg_listeners_clear (&list);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/listeners/order-and-disconnect", test_order_and_disconnect);
  g_test_add_func ("/common/listeners/clear-unset", test_clear_unset);
  return g_test_run ();
}
