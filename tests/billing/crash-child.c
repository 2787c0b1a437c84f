/* crash-child.c — runs many simulated billed watch sessions against a data folder until killed.
 * Used by test-billing-crash, which kills it with SIGKILL at random moments. */

#include "kmg-billing.h"
#include "kmg-ledger.h"

#include <stdio.h>
#include <stdlib.h>

#define BUYERS 20
#define SELLERS 10
#define MAX_ACTIVE 40

typedef struct
{
  gint64 id;
  gint64 next_second;
} Live;

static void
ensure_users (KmgDb *db, KmgLedger *ledger, gint64 now)
{
  g_autoptr (GError) error = NULL;

  for (int i = 0; i < BUYERS + SELLERS; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s%d", i < BUYERS ? "b" : "s", i);
      g_autofree char *sql = g_strdup_printf (
        "INSERT OR IGNORE INTO users (id, username, username_key, password_hash, is_seller, "
        "price_per_minute, created_at, updated_at) VALUES (%d, '%s', '%s', 'x', %d, %d, 0, 0)",
        i + 1, name, name, i >= BUYERS, 1 + i * 7);
      g_autofree char *ref = g_strdup_printf ("initial-%d", i + 1);
      if (!kmg_db_exec (db, sql, &error))
        g_error ("%s", error->message);
      if (i < BUYERS && !kmg_ledger_topup (ledger, i + 1, 5000, ref, now, NULL, &error))
        g_error ("%s", error->message);
    }
}

static void
step_sessions (KmgBilling *b, GArray *live, GRand *rng, gint64 now)
{
  for (guint i = 0; i < live->len;)
    {
      Live *l = &g_array_index (live, Live, i);
      KmgDeliveredSecond ev = { .second = l->next_second, .packets = 30, .bytes = 30000 };

      if (g_rand_int_range (rng, 0, 100) == 0)
        {
          kmg_billing_session_end (b, l->id, "buyer_left", now, NULL);
          g_array_remove_index_fast (live, i);
          continue;
        }
      if (g_rand_int_range (rng, 0, 10) != 0) /* some seconds are not delivered */
        kmg_billing_delivered_second (b, l->id, &ev, now);
      if (g_rand_boolean (rng))
        kmg_billing_delivered_second (b, l->id, &ev, now); /* duplicate */
      l->next_second++;
      i++;
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KmgDb) db = NULL;
  g_autoptr (KmgBilling) b = NULL;
  g_autoptr (GRand) rng = NULL;
  g_autoptr (GArray) live = g_array_new (FALSE, FALSE, sizeof (Live));
  KmgBillingRules rules;
  gint64 now = g_get_real_time () / 1000;

  if (argc != 3)
    {
      fprintf (stderr, "usage: crash-child DB SEED\n");
      return 2;
    }
  rng = g_rand_new_with_seed ((guint32) strtoul (argv[2], NULL, 10));
  db = kmg_db_open (argv[1], &error);
  if (db == NULL || kmg_billing_recover (db, now, &error) < 0)
    g_error ("%s", error->message);
  kmg_billing_rules_init (&rules);
  rules.minute_s = 3;
  rules.min_billable_s = 2;
  b = kmg_billing_new (db, &rules, &error);
  ensure_users (db, kmg_billing_get_ledger (b), now);
  for (guint64 tick = 0;; tick++)
    {
      g_autoptr (GArray) events = NULL;

      now += 1000;
      while (live->len < MAX_ACTIVE)
        {
          gint64 buyer = g_rand_int_range (rng, 1, BUYERS + 1);
          gint64 seller = g_rand_int_range (rng, BUYERS + 1, BUYERS + SELLERS + 1);
          Live l = { kmg_billing_session_start (b, buyer, seller, now, NULL), now / 1000 };
          if (l.id <= 0)
            break; /* that buyer is out of credits */
          kmg_billing_session_set_active (b, l.id, TRUE);
          g_array_append_val (live, l);
        }
      step_sessions (b, live, rng, now);
      events = kmg_billing_flush (b, now, &error);
      if (events == NULL)
        g_error ("flush: %s", error->message);
      for (guint i = 0; i < events->len; i++)
        if (g_array_index (events, KmgBillingEvent, i).kind == KMG_BILLING_EVENT_ENDED)
          for (guint j = 0; j < live->len; j++)
            if (g_array_index (live, Live, j).id == g_array_index (events, KmgBillingEvent, i).session_id)
              g_array_remove_index_fast (live, j);
      if (tick % 50 == 0)
        {
          g_autofree char *ref = g_strdup_printf ("run-%s-%" G_GUINT64_FORMAT, argv[2], tick);
          kmg_ledger_topup (kmg_billing_get_ledger (b), g_rand_int_range (rng, 1, BUYERS + 1),
                            300, ref, now, NULL, NULL);
        }
    }
  return 0;
}
