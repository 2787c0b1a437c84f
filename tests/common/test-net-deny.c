/* test-net-deny.c — the denied-address matcher: the shared table of addresses, IPv4 carried in
 * IPv6 forms, custom lists, and the CIDR list parser's errors. */
#include "kmg-net-deny.h"
#include "net-deny-cases.h"

#include <string.h>

static void
test_table (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgNetDeny) strict = kmg_net_deny_new (NULL, FALSE, &error);
  g_autoptr (KmgNetDeny) loop = kmg_net_deny_new (NULL, TRUE, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (net_deny_cases); i++)
    {
      const NetDenyCase *c = &net_deny_cases[i];
      g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (c->address);

      g_test_message ("%s", c->address);
      g_assert_nonnull (addr);
      g_assert_cmpint (kmg_net_deny_is_denied (strict, c->address), ==, net_deny_case_denied (c, FALSE));
      g_assert_cmpint (kmg_net_deny_is_denied (loop, c->address), ==, net_deny_case_denied (c, TRUE));
      g_assert_cmpint (kmg_net_deny_matches (strict, addr), ==, net_deny_case_denied (c, FALSE));
      g_assert_cmpint (kmg_net_deny_matches (kmg_net_deny_get_default (), addr), ==,
                       net_deny_case_denied (c, FALSE));
    }
}

static void
test_not_literal (void)
{
  const KmgNetDeny *deny = kmg_net_deny_get_default ();
  const char *names[] = { "", "host.local", "example.com", "1.2.3", "010.1.1.1", "192.0.2.1 ",
                          "192.0.2.1/32", NULL };

  for (guint i = 0; names[i] != NULL; i++)
    g_assert_true (kmg_net_deny_is_denied (deny, names[i]));
  g_assert_true (kmg_net_deny_is_denied (deny, NULL));
}

static void
test_default_list (void)
{
  const char *const *cidrs = kmg_net_deny_default_cidrs ();
  const char *promised[] = { "169.254.0.0/16", "fe80::/10", "224.0.0.0/4", "ff00::/8", "0.0.0.0/8",
                             "::/128", "255.255.255.255/32" };
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (g_strv_length ((char **) cidrs), ==, G_N_ELEMENTS (promised));
  for (guint i = 0; i < G_N_ELEMENTS (promised); i++)
    g_assert_true (g_strv_contains (cidrs, promised[i]));
  g_assert_true (kmg_net_deny_check_cidrs (cidrs, &error));
  g_assert_no_error (error);
}

/* A custom list replaces the defaults; ranges and addresses fold the same way. */
static void
test_custom (void)
{
  const char *cidrs[] = { "10.0.0.0/8", "::ffff:192.168.0.0/112", "64:ff9b::172.16.0.0/108",
                          "::100.64.0.0/106", "2001:db8::/32", "198.51.100.7", NULL };
  const struct
  {
    const char *address;
    gboolean denied;
  } cases[] = {
    { "10.1.2.3", TRUE },          { "::ffff:10.1.2.3", TRUE },     { "64:ff9b::a01:203", TRUE },
    { "::10.1.2.3", TRUE },        { "11.0.0.0", FALSE },           { "192.168.4.4", TRUE },
    { "::ffff:192.168.4.4", TRUE }, { "64:ff9b::c0a8:404", TRUE },  { "192.169.0.0", FALSE },
    { "172.16.0.1", TRUE },        { "172.31.255.255", TRUE },      { "172.32.0.0", FALSE },
    { "100.64.0.1", TRUE },        { "::ffff:100.127.255.255", TRUE }, { "100.128.0.0", FALSE },
    { "2001:db8:ffff::1", TRUE },  { "2001:db9::", FALSE },         { "198.51.100.7", TRUE },
    { "::ffff:198.51.100.7", TRUE }, { "198.51.100.8", FALSE },
    { "169.254.169.254", FALSE }, /* the defaults are replaced */
    { "127.0.0.1", TRUE },         { "64:ff9b::7f00:1", TRUE },     { "::1", TRUE },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgNetDeny) deny = kmg_net_deny_new (cidrs, FALSE, &error);
  g_autoptr (KmgNetDeny) loop = kmg_net_deny_new (cidrs, TRUE, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].address);
      g_assert_cmpint (kmg_net_deny_is_denied (deny, cases[i].address), ==, cases[i].denied);
    }
  g_assert_false (kmg_net_deny_is_denied (loop, "127.0.0.1"));
  g_assert_false (kmg_net_deny_is_denied (loop, "::ffff:127.0.0.1"));
  g_assert_false (kmg_net_deny_is_denied (loop, "::1"));
  g_assert_true (kmg_net_deny_is_denied (loop, "10.9.9.9"));

  /* An empty list denies nothing but loopback. */
  const char *none[] = { NULL };
  g_autoptr (KmgNetDeny) empty = kmg_net_deny_new (none, FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (kmg_net_deny_is_denied (empty, "169.254.169.254"));
  g_assert_true (kmg_net_deny_is_denied (empty, "64:ff9b::7f00:1"));
}

static void
test_cidr_errors (void)
{
  const struct
  {
    const char *cidr, *why;
  } bad[] = {
    { "10.0.0.0/33", "0..32" },      { "fe80::/129", "0..128" },       { "10.0.0.0/", "0..32" },
    { "10.0.0.0/x", "0..32" },       { "10.0.0.0/-1", "0..32" },       { "10.0.0.0/+8", "0..32" },
    { "10.0.0.0/0008", "0..32" },    { "10.0.0.0/8/8", "0..32" },      { "10.0.0.0/ 8", "0..32" },
    { "nonsense/8", "not an IP" },   { "/8", "not an IP" },            { "", "not an IP" },
    { " 10.0.0.0/8", "not an IP" },  { "10.0.0/8", "not an IP" },      { "host.local", "not an IP" },
    { "10.0.0.1/8", "after the /8" }, { "fe80::1/10", "after the /10" }, { "::ffff:10.0.0.1/104", "after" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *list[] = { "10.0.0.0/8", bad[i].cidr, "fe80::/10", NULL };
      g_autoptr (GError) error = NULL;
      g_autofree char *quoted = g_strdup_printf ("\"%s\"", bad[i].cidr);

      g_test_message ("%s", bad[i].cidr);
      g_assert_false (kmg_net_deny_check_cidrs (list, &error));
      g_assert_error (error, KMG_NET_DENY_ERROR, KMG_NET_DENY_ERROR_BAD_CIDR);
      g_assert_nonnull (strstr (error->message, quoted));
      g_assert_nonnull (strstr (error->message, bad[i].why));
      g_clear_error (&error);
      g_assert_null (kmg_net_deny_new (list, TRUE, &error));
      g_assert_error (error, KMG_NET_DENY_ERROR, KMG_NET_DENY_ERROR_BAD_CIDR);
    }

  const char *good[] = { "10.0.0.0/8", "192.0.2.1", "192.0.2.1/32", "0.0.0.0/0", "::/0", "2001:db8::/32",
                         "fe80::1", "::ffff:192.168.0.0/112", "64:ff9b::/96", NULL };
  g_autoptr (GError) error = NULL;
  g_assert_true (kmg_net_deny_check_cidrs (good, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/net-deny/table", test_table);
  g_test_add_func ("/common/net-deny/not-literal", test_not_literal);
  g_test_add_func ("/common/net-deny/default-list", test_default_list);
  g_test_add_func ("/common/net-deny/custom", test_custom);
  g_test_add_func ("/common/net-deny/cidr-errors", test_cidr_errors);
  return g_test_run ();
}
