/* kmg-audit-report.c — the audit's report: findings, problem sentences, text and JSON forms.
 * The checks (kmg-audit.c, kmg-audit-evidence.c) fill it; nothing here reads the store. */

#include "kmg-audit-report.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define MAX_PROBLEMS 100

void
kmg_audit_report_free (KmgAuditReport *r)
{
  if (r == NULL)
    return;
  g_free (r->first_bad_reason);
  g_free (r->first_evidence_reason);
  g_free (r->first_bad_anchor_reason);
  g_ptr_array_unref (r->problems);
  g_free (r);
}

G_GNUC_PRINTF (2, 0)
static void
problem_va (KmgAuditReport *r, const char *fmt, va_list ap)
{
  r->ok = FALSE;
  if (r->problems->len < MAX_PROBLEMS)
    g_ptr_array_add (r->problems, g_strdup_vprintf (fmt, ap));
}

void
kmg_audit_report_add_problem (KmgAuditReport *r, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  problem_va (r, fmt, ap);
  va_end (ap);
}

void
kmg_audit_evidence_mismatch (KmgAuditReport *r, gint64 session_id, const char *why)
{
  if (r->evidence_mismatches++ == 0)
    {
      r->first_evidence_mismatch = session_id;
      r->first_evidence_reason = g_strdup (why);
    }
  kmg_audit_report_add_problem (r, "session %" G_GINT64_FORMAT ": %s", session_id, why);
}

char *
kmg_audit_report_to_text (const KmgAuditReport *r)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "ledger audit: %s\n", r->ok ? "OK" : "FAILED");
  g_string_append_printf (s, "  hash chain:        %" G_GUINT64_FORMAT " transfers, ", r->transfers);
  if (r->first_bad_transfer == 0)
    g_string_append (s, "intact\n");
  else
    g_string_append_printf (s, "%u bad, first bad row id %" G_GINT64_FORMAT " (%s)\n",
                            r->bad_transfers, r->first_bad_transfer, r->first_bad_reason);
  g_string_append_printf (s, "  ledger sum:        %" G_GINT64_FORMAT " over %" G_GUINT64_FORMAT
                             " accounts\n",
                          r->ledger_sum, r->accounts);
  if (r->balance_mismatches == 0)
    g_string_append (s, "  balances:          all equal the sum of their transfers\n");
  else
    g_string_append_printf (s, "  balances:          %u mismatched, first account %" G_GINT64_FORMAT "\n",
                            r->balance_mismatches, r->first_balance_mismatch);
  g_string_append_printf (s, "  negative balances: %u\n", r->negative_balances);
  g_string_append_printf (s, "  duplicate charges: %u\n", r->duplicate_charges);
  g_string_append_printf (s, "  evidence:          %" G_GUINT64_FORMAT " sessions, %" G_GUINT64_FORMAT
                             " charged minutes, ",
                          r->sessions, r->charged_minutes);
  if (r->evidence_mismatches == 0)
    g_string_append (s, "charges match the evidence\n");
  else
    g_string_append_printf (s, "%u sessions differ, first %" G_GINT64_FORMAT " (%s)\n",
                            r->evidence_mismatches, r->first_evidence_mismatch,
                            r->first_evidence_reason);
  if (!r->anchors_checked)
    g_string_append (s, "  anchors:           not checked (no anchor file)\n");
  else if (r->bad_anchors == 0)
    g_string_append_printf (s, "  anchors:           %u, all match the chain\n", r->anchors);
  else
    g_string_append_printf (s, "  anchors:           %u, %u bad, first transfer %" G_GINT64_FORMAT " (%s)\n", r->anchors,
                            r->bad_anchors, r->first_bad_anchor, r->first_bad_anchor_reason);
  for (guint i = 0; i < r->problems->len; i++)
    g_string_append_printf (s, "  problem: %s\n", (const char *) r->problems->pdata[i]);
  return g_string_free (s, FALSE);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

/* A "first ..." field: null until something was found. */
static void
add_int_or_null (JsonBuilder *b, const char *name, gboolean present, gint64 value)
{
  json_builder_set_member_name (b, name);
  if (present)
    json_builder_add_int_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

char *
kmg_audit_report_to_json (const KmgAuditReport *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, r->ok);
  add_int (b, "transfers", (gint64) r->transfers);
  add_int_or_null (b, "first_bad_transfer", r->first_bad_transfer != 0, r->first_bad_transfer);
  add_string (b, "first_bad_reason", r->first_bad_reason);
  add_int (b, "bad_transfers", r->bad_transfers);
  add_int (b, "accounts", (gint64) r->accounts);
  add_int (b, "ledger_sum", r->ledger_sum);
  add_int (b, "balance_mismatches", r->balance_mismatches);
  add_int_or_null (b, "first_balance_mismatch", r->balance_mismatches != 0,
                   r->first_balance_mismatch);
  add_int (b, "negative_balances", r->negative_balances);
  add_int (b, "duplicate_charges", r->duplicate_charges);
  add_int (b, "sessions", (gint64) r->sessions);
  add_int (b, "charged_minutes", (gint64) r->charged_minutes);
  add_int (b, "evidence_mismatches", r->evidence_mismatches);
  add_int_or_null (b, "first_evidence_mismatch", r->evidence_mismatches != 0,
                   r->first_evidence_mismatch);
  add_string (b, "first_evidence_reason", r->first_evidence_reason);
  json_builder_set_member_name (b, "anchors_checked");
  json_builder_add_boolean_value (b, r->anchors_checked);
  add_int (b, "anchors", r->anchors);
  add_int (b, "bad_anchors", r->bad_anchors);
  add_int_or_null (b, "first_bad_anchor", r->first_bad_anchor != 0, r->first_bad_anchor);
  add_string (b, "first_bad_anchor_reason", r->first_bad_anchor_reason);
  json_builder_set_member_name (b, "problems");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->problems->len; i++)
    json_builder_add_string_value (b, r->problems->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}
