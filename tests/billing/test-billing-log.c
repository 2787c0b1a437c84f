/* test-billing-log.c — billing's structured log records carry the fields STYLE.md promises
 * (KMG_SESSION, KMG_USER) beside a formatted MESSAGE, captured by a structured log writer. */

#include "billing-test-util.h"
#include "kmg-billing.h"

#include <string.h>

/* One captured record: field name → value, for records of the billing log domain. */
static GPtrArray *records;

static GLogWriterOutput
capture (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  GHashTable *rec = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *domain = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      /* Every field billing sets is a string; a negative length means NUL-terminated. */
      char *value = fields[i].length < 0 ? g_strdup (fields[i].value)
                                         : g_strndup (fields[i].value, (gsize) fields[i].length);
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = value;
      g_hash_table_replace (rec, g_strdup (fields[i].key), value);
    }
  if (g_strcmp0 (domain, "kamegor-billing") == 0)
    g_ptr_array_add (records, rec);
  else
    g_hash_table_unref (rec);
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static GHashTable *
find_record (const char *message_prefix)
{
  for (guint i = 0; i < records->len; i++)
    {
      GHashTable *rec = records->pdata[i];
      const char *msg = g_hash_table_lookup (rec, "MESSAGE");
      if (msg != NULL && g_str_has_prefix (msg, message_prefix))
        return rec;
    }
  return NULL;
}

static void
test_session_started_fields (void)
{
  g_autoptr (BillingTestDb) t = billing_test_db_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgBilling) b = NULL;
  g_autofree char *sid = NULL, *uid = NULL, *msg = NULL;
  KmgBillingRules rules;
  gint64 buyer, seller, id, now = G_GINT64_CONSTANT (1700000000000);
  GHashTable *rec;

  kmg_billing_rules_init (&rules);
  b = kmg_billing_new (t->db, &rules, &error);
  g_assert_no_error (error);
  buyer = billing_test_add_user (t->db, "buyer", 0);
  seller = billing_test_add_user (t->db, "seller", 10);
  g_assert_true (kmg_ledger_grant (kmg_billing_get_ledger (b), buyer, 100, "test credit", 0, NULL,
                                   now, NULL, &error));
  g_assert_no_error (error);
  g_ptr_array_set_size (records, 0);
  id = kmg_billing_session_start (b, buyer, seller, now, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);

  sid = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  uid = g_strdup_printf ("%" G_GINT64_FORMAT, buyer);
  msg = g_strdup_printf ("watch session %s started", sid);
  rec = find_record ("watch session ");
  g_assert_nonnull (rec);
  g_assert_cmpstr (g_hash_table_lookup (rec, "KMG_SESSION"), ==, sid);
  g_assert_cmpstr (g_hash_table_lookup (rec, "KMG_USER"), ==, uid);
  g_assert_true (g_str_has_prefix (g_hash_table_lookup (rec, "MESSAGE"), msg));
  g_assert_cmpstr (g_hash_table_lookup (rec, "PRIORITY"), ==, "6"); /* info */
}

int
main (int argc, char **argv)
{
  int rc;

  /* Before anything logs: the writer can be set once per process. */
  g_log_set_writer_func (capture, NULL, NULL);
  records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/billing/log/session-started-fields", test_session_started_fields);
  rc = g_test_run ();
  g_ptr_array_unref (records);
  return rc;
}
