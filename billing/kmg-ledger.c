/* kmg-ledger.c — transfers: idempotency, balances that never go negative, the hash chain, and
 * batched minute charges. Runs on the main context's connection; every write is in a transaction. */

#include "kmg-ledger.h"

#include "kmg-canon.h"
#include "kmg-ledger-rows.h"

#include <sodium.h>
#include <string.h>

struct _KmgLedger
{
  KmgDb *db;
  gboolean in_txn;
  gint64 tail_id;                   /* last transfer id in this transaction */
  char tail_hash[KMG_HASH_HEX_LEN + 1];
  GString *buf;                     /* canonical text scratch */
  GHashTable *pending;              /* account id → Pending, for the charge batch in progress */
  KmgLedgerRows *rows;              /* rows of the charge batch not yet written */
  KmgAnchorLog *anchors;            /* borrowed; NULL: none */
};

/* A charge batch moves the same wallets many times (a buyer per minute of each session, a seller
 * per buyer, the platform per charge): balances move in memory and are written once at the end. */
typedef struct
{
  gint64 id;
  gint64 delta;   /* not yet written */
  gint64 balance; /* stored balance + delta; valid when known */
  gboolean known;
} Pending;

typedef struct
{
  gint64 debit;
  gint64 credit;
  gint64 amount;
  KmgTransferKind kind;
  const char *key;
  const char *memo;
  gint64 session_id;   /* 0: none */
  gint64 minute_index; /* -1: none */
} Spec;

typedef enum
{
  KEY_ERROR = -1,
  KEY_NEW,
  KEY_SAME,
  KEY_CONFLICT,
} KeyState;

KmgLedger *
kmg_ledger_new (KmgDb *db)
{
  KmgLedger *l;

  g_return_val_if_fail (db != NULL, NULL);
  if (sodium_init () < 0)
    g_error ("libsodium failed to initialise");
  l = g_new0 (KmgLedger, 1);
  l->db = db;
  l->buf = g_string_sized_new (512);
  l->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  l->rows = kmg_ledger_rows_new ();
  return l;
}

void
kmg_ledger_free (KmgLedger *l)
{
  if (l == NULL)
    return;
  if (l->in_txn)
    kmg_ledger_rollback (l);
  g_string_free (l->buf, TRUE);
  g_hash_table_unref (l->pending);
  kmg_ledger_rows_free (l->rows);
  g_free (l);
}

KmgDb *
kmg_ledger_get_db (KmgLedger *l)
{
  return l->db;
}

static gboolean
load_tail (KmgLedger *l, GError **error)
{
  static const char *const sql = "SELECT id, hash FROM transfers ORDER BY id DESC LIMIT 1";
  g_autoptr (KmgDbStmt) st
    = kmg_db_prepare_static (l->db, &sql, error);
  int rc;

  if (st == NULL || (rc = kmg_db_step (st, error)) < 0)
    return FALSE;
  l->tail_id = 0;
  g_strlcpy (l->tail_hash, KMG_GENESIS_HASH, sizeof l->tail_hash);
  if (rc == SQLITE_ROW)
    {
      sqlite3_stmt *raw = kmg_db_stmt_raw (st);
      l->tail_id = sqlite3_column_int64 (raw, 0);
      g_strlcpy (l->tail_hash, (const char *) sqlite3_column_text (raw, 1), sizeof l->tail_hash);
    }
  return TRUE;
}

gboolean
kmg_ledger_begin (KmgLedger *l, GError **error)
{
  g_return_val_if_fail (!l->in_txn, FALSE);
  /* IMMEDIATE: we are the only writer until COMMIT, so the tail read here stays the tail even
   * when kamegorctl writes through another connection. */
  if (!kmg_db_begin (l->db, error))
    return FALSE;
  if (!load_tail (l, error))
    {
      kmg_db_rollback (l->db);
      return FALSE;
    }
  l->in_txn = TRUE;
  return TRUE;
}

void
kmg_ledger_set_anchor_log (KmgLedger *l, KmgAnchorLog *log)
{
  l->anchors = log;
}

gboolean
kmg_ledger_commit (KmgLedger *l, GError **error)
{
  g_autoptr (GError) anchor_error = NULL;

  g_return_val_if_fail (l->in_txn, FALSE);
  l->in_txn = FALSE;
  if (!kmg_db_commit (l->db, error)) /* rolls back by itself on failure */
    return FALSE;
  /* The tail the transaction kept (read at begin, moved by every row) is the committed head. The
   * commit stands whatever happens to the anchor: a missed one only leaves the previous. */
  if (l->anchors != NULL
      && !kmg_anchor_log_append (l->anchors, l->tail_id, l->tail_hash, g_get_real_time () / 1000, &anchor_error))
    g_warning ("ledger anchor not written: %s", anchor_error->message);
  return TRUE;
}

void
kmg_ledger_rollback (KmgLedger *l)
{
  l->in_txn = FALSE;
  kmg_ledger_rows_clear (l->rows);
  kmg_db_rollback (l->db);
}

gboolean
kmg_ledger_ensure_account (KmgLedger *l, gint64 user_id, gint64 now_ms, GError **error)
{
  static const char *const sql = "INSERT OR IGNORE INTO accounts (id, kind, balance, created_at) "
                                  "VALUES (?1, 'user', 0, ?2)";
  g_autoptr (KmgDbStmt) st = NULL;

  g_return_val_if_fail (user_id > 0, FALSE);
  st = kmg_db_prepare_static (l->db, &sql, error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, user_id);
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 2, now_ms / 1000);
  return kmg_db_step (st, error) >= 0;
}

gboolean
kmg_ledger_balance (KmgLedger *l, gint64 account, gint64 *out, GError **error)
{
  static const char *const sql = "SELECT balance FROM accounts WHERE id = ?1";
  g_autoptr (KmgDbStmt) st
    = kmg_db_prepare_static (l->db, &sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, account);
  if ((rc = kmg_db_step (st, error)) < 0)
    return FALSE;
  *out = rc == SQLITE_ROW ? sqlite3_column_int64 (kmg_db_stmt_raw (st), 0) : 0;
  return TRUE;
}

static gboolean
user_exists (KmgLedger *l, gint64 user_id, GError **error)
{
  static const char *const sql = "SELECT 1 FROM users WHERE id = ?1";
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (l->db, &sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, user_id);
  if ((rc = kmg_db_step (st, error)) < 0)
    return FALSE;
  if (rc == SQLITE_ROW)
    return TRUE;
  g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND,
               "no user %" G_GINT64_FORMAT, user_id);
  return FALSE;
}

static KeyState
find_by_key (KmgLedger *l, const Spec *s, gint64 *id, GError **error)
{
  static const char *const sql =
    "SELECT id, debit_account, credit_account, amount, kind, IFNULL (session_id, 0), "
    "IFNULL (minute_index, -1), memo FROM transfers WHERE idempotency_key = ?1";
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (l->db, &sql, error);
  sqlite3_stmt *raw;
  int rc;
  gboolean same;

  if (st == NULL)
    return KEY_ERROR;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_text (raw, 1, s->key, -1, SQLITE_STATIC);
  if ((rc = kmg_db_step (st, error)) < 0)
    return KEY_ERROR;
  if (rc == SQLITE_DONE)
    return KEY_NEW;
  *id = sqlite3_column_int64 (raw, 0);
  same = sqlite3_column_int64 (raw, 1) == s->debit && sqlite3_column_int64 (raw, 2) == s->credit
         && sqlite3_column_int64 (raw, 3) == s->amount
         && g_strcmp0 ((const char *) sqlite3_column_text (raw, 4),
                       kmg_transfer_kind_to_string (s->kind)) == 0
         && sqlite3_column_int64 (raw, 5) == s->session_id
         && sqlite3_column_int64 (raw, 6) == s->minute_index
         && g_strcmp0 ((const char *) sqlite3_column_text (raw, 7), s->memo ? s->memo : "") == 0;
  return same ? KEY_SAME : KEY_CONFLICT;
}

/* Runs one single-account balance UPDATE (?1 account, ?2 amount); @changed says whether it
 * touched the row, so each caller can say why it did not. */
static gboolean
update_balance (KmgLedger *l, const char *const *sql, gint64 account, gint64 amount,
                gboolean *changed, GError **error)
{
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (l->db, sql, error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 1, account);
  sqlite3_bind_int64 (kmg_db_stmt_raw (st), 2, amount);
  if (kmg_db_step (st, error) < 0)
    return FALSE;
  *changed = kmg_db_changes (l->db) == 1;
  return TRUE;
}

/* Debits @account by @amount; only the external account may go below zero. */
static gboolean
debit_account (KmgLedger *l, gint64 account, gint64 amount, GError **error)
{
  static const char *const sql =
    "UPDATE accounts SET balance = balance - ?2 "
    "WHERE id = ?1 AND (kind = 'external' OR balance >= ?2)";
  gboolean changed = FALSE;

  if (!update_balance (l, &sql, account, amount, &changed, error))
    return FALSE;
  if (changed)
    return TRUE;
  g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INSUFFICIENT_CREDITS,
               "account %" G_GINT64_FORMAT " cannot pay %" G_GINT64_FORMAT, account, amount);
  return FALSE;
}

/* Adds @amount (negative: a debit the caller has already checked) to @account. */
static gboolean
credit_account (KmgLedger *l, gint64 account, gint64 amount, GError **error)
{
  static const char *const sql = "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1";
  gboolean changed = FALSE;

  if (!update_balance (l, &sql, account, amount, &changed, error))
    return FALSE;
  if (changed)
    return TRUE;
  g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND,
               "no account %" G_GINT64_FORMAT, account);
  return FALSE;
}

/* Appends the row at the chain tail. Balances are the caller's job. A @queued row is written
 * with the batch's next chunk or kmg_ledger_rows_flush; others are written now. */
static gboolean
insert_row (KmgLedger *l, const Spec *s, gint64 now_ms, gboolean queued, gint64 *id,
            GError **error)
{
  KmgTransferRow row = {
    .id = l->tail_id + 1,
    .debit_account = s->debit,
    .credit_account = s->credit,
    .amount = s->amount,
    .kind = s->kind,
    .idempotency_key = s->key,
    .session_id = s->session_id,
    .minute_index = s->minute_index,
    .created_at = now_ms / 1000,
    .memo = s->memo ? s->memo : "",
  };
  char hash[KMG_HASH_HEX_LEN + 1];

  g_return_val_if_fail (l->in_txn, FALSE);
  kmg_transfer_canonical (&row, l->buf);
  kmg_transfer_hash (l->tail_hash, l->buf->str, l->buf->len, hash);
  if (!kmg_ledger_rows_add_transfer (l->rows, l->db, &row, l->buf, l->tail_hash, hash, error)
      || (!queued && !kmg_ledger_rows_flush (l->rows, l->db, error)))
    return FALSE;
  l->tail_id = row.id;
  memcpy (l->tail_hash, hash, sizeof hash);
  if (id)
    *id = row.id;
  return TRUE;
}

/* Idempotent single transfer inside the current transaction. */
static gboolean
append_in_txn (KmgLedger *l, const Spec *s, gint64 now_ms, KmgTransferResult *out,
               GError **error)
{
  KmgTransferResult res = { 0 };

  switch (find_by_key (l, s, &res.transfer_id, error))
    {
    case KEY_ERROR:
      return FALSE;
    case KEY_CONFLICT:
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_IDEMPOTENCY_CONFLICT,
                   "idempotency key '%s' was used for a different transfer", s->key);
      return FALSE;
    case KEY_SAME:
      res.replayed = TRUE;
      break;
    case KEY_NEW:
      if (!debit_account (l, s->debit, s->amount, error)
          || !credit_account (l, s->credit, s->amount, error)
          || !insert_row (l, s, now_ms, FALSE, &res.transfer_id, error))
        return FALSE;
      break;
    }
  if (out)
    *out = res;
  return TRUE;
}

static gboolean
spec_valid (const Spec *s, GError **error)
{
  const char *bad = NULL;

  if (s->amount <= 0)
    bad = "amount must be positive";
  else if (s->debit == s->credit)
    bad = "debit and credit accounts must differ";
  else if (s->key == NULL || *s->key == '\0' || strlen (s->key) > 200)
    bad = "an idempotency key of 1..200 bytes is required";
  else if (s->memo != NULL && strlen (s->memo) > 1000)
    bad = "memo longer than 1000 bytes";
  if (bad == NULL)
    return TRUE;
  g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID, bad);
  return FALSE;
}

gboolean
kmg_ledger_transfer (KmgLedger *l, gint64 debit, gint64 credit, gint64 amount,
                     KmgTransferKind kind, const char *idempotency_key, const char *memo,
                     gint64 now_ms, KmgTransferResult *out, GError **error)
{
  Spec s = { debit, credit, amount, kind, idempotency_key, memo, 0, -1 };

  g_return_val_if_fail (kind != KMG_TRANSFER_CHARGE, FALSE);
  if (!spec_valid (&s, error) || !kmg_ledger_begin (l, error))
    return FALSE;
  if (!append_in_txn (l, &s, now_ms, out, error))
    {
      kmg_ledger_rollback (l);
      return FALSE;
    }
  return kmg_ledger_commit (l, error);
}

gboolean
kmg_ledger_topup (KmgLedger *l, gint64 user_id, gint64 amount, const char *payment_ref,
                  gint64 now_ms, KmgTransferResult *out, GError **error)
{
  g_autofree char *key = g_strconcat ("topup:", payment_ref ? payment_ref : "", NULL);
  Spec s = { KMG_ACCOUNT_EXTERNAL, user_id, amount, KMG_TRANSFER_TOPUP, key, payment_ref, 0, -1 };
  KmgTransferResult res = { 0 };
  g_autoptr (KmgDbStmt) st = NULL;

  if (payment_ref == NULL || *payment_ref == '\0' || user_id <= 0)
    {
      g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                           "top-up needs a user and a payment reference");
      return FALSE;
    }
  if (!spec_valid (&s, error) || !kmg_ledger_begin (l, error))
    return FALSE;
  if (!user_exists (l, user_id, error) || !kmg_ledger_ensure_account (l, user_id, now_ms, error)
      || !append_in_txn (l, &s, now_ms, &res, error))
    goto fail;
  if (!res.replayed)
    {
      static const char *const sql =
        "INSERT INTO topups (payment_ref, user_id, amount, transfer_id, "
        "received_at) VALUES (?1, ?2, ?3, ?4, ?5)";
      st = kmg_db_prepare_static (l->db, &sql, error);
      if (st == NULL)
        goto fail;
      sqlite3_bind_text (kmg_db_stmt_raw (st), 1, payment_ref, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (kmg_db_stmt_raw (st), 2, user_id);
      sqlite3_bind_int64 (kmg_db_stmt_raw (st), 3, amount);
      sqlite3_bind_int64 (kmg_db_stmt_raw (st), 4, res.transfer_id);
      sqlite3_bind_int64 (kmg_db_stmt_raw (st), 5, now_ms / 1000);
      if (kmg_db_step (st, error) < 0)
        goto fail;
    }
  if (!kmg_ledger_commit (l, error))
    return FALSE;
  if (out)
    *out = res;
  return TRUE;

fail:
  kmg_ledger_rollback (l);
  return FALSE;
}

static gboolean
record_admin_action (KmgLedger *l, gint64 admin_id, const char *action, gint64 target_user,
                     gint64 transfer_id, const char *reason, gint64 amount, gint64 now_ms,
                     GError **error)
{
  static const char *const sql =
    "INSERT INTO admin_actions (admin_id, action, target_user, target_ref, reason, detail, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (l->db, &sql, error);
  g_autofree char *ref = g_strdup_printf ("transfer:%" G_GINT64_FORMAT, transfer_id);
  g_autofree char *detail = g_strdup_printf ("{\"amount\":%" G_GINT64_FORMAT "}", amount);
  sqlite3_stmt *raw;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  if (admin_id > 0)
    sqlite3_bind_int64 (raw, 1, admin_id);
  sqlite3_bind_text (raw, 2, action, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (raw, 3, target_user);
  sqlite3_bind_text (raw, 4, ref, -1, SQLITE_STATIC);
  sqlite3_bind_text (raw, 5, reason, -1, SQLITE_STATIC);
  sqlite3_bind_text (raw, 6, detail, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (raw, 7, now_ms / 1000);
  return kmg_db_step (st, error) >= 0;
}

static gboolean
reason_valid (const char *reason, GError **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (reason ? reason : ""));

  if (*trimmed != '\0' && strlen (reason) <= 500)
    return TRUE;
  g_set_error_literal (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
                       "a reason (1..500 bytes) is required");
  return FALSE;
}

gboolean
kmg_ledger_grant (KmgLedger *l, gint64 user_id, gint64 amount, const char *reason,
                  gint64 admin_id, const char *idempotency_key, gint64 now_ms,
                  KmgTransferResult *out, GError **error)
{
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *fresh = g_strconcat ("grant:", uuid, NULL);
  Spec s = { KMG_ACCOUNT_EXTERNAL, user_id, amount, KMG_TRANSFER_GRANT, idempotency_key, reason,
             0, -1 };
  KmgTransferResult res = { 0 };

  if (!reason_valid (reason, error))
    return FALSE;
  if (s.key == NULL)
    s.key = fresh;
  if (!spec_valid (&s, error) || !kmg_ledger_begin (l, error))
    return FALSE;
  if (!user_exists (l, user_id, error) || !kmg_ledger_ensure_account (l, user_id, now_ms, error)
      || !append_in_txn (l, &s, now_ms, &res, error)
      || (!res.replayed
          && !record_admin_action (l, admin_id, "grant", user_id, res.transfer_id, reason,
                                   amount, now_ms, error)))
    {
      kmg_ledger_rollback (l);
      return FALSE;
    }
  if (!kmg_ledger_commit (l, error))
    return FALSE;
  if (out)
    *out = res;
  return TRUE;
}

typedef struct
{
  gint64 buyer_id;
  gint64 seller_id;
  gint64 seller_total;
  gint64 fee_total;
} SessionCharges;

static gboolean
load_session_charges (KmgLedger *l, gint64 session_id, SessionCharges *sc, GError **error)
{
  static const char *const sql =
    "SELECT s.buyer_id, s.seller_id, "
    "IFNULL ((SELECT SUM (amount) FROM transfers t WHERE t.session_id = s.id "
    "AND t.kind = 'charge' AND t.credit_account = s.seller_id), 0), "
    "IFNULL ((SELECT SUM (amount) FROM transfers t WHERE t.session_id = s.id "
    "AND t.kind = 'charge' AND t.credit_account = 0), 0) "
    "FROM watch_sessions s WHERE s.id = ?1";
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (l->db, &sql, error);
  sqlite3_stmt *raw;
  int rc;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, session_id);
  if ((rc = kmg_db_step (st, error)) < 0)
    return FALSE;
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_NOT_FOUND,
                   "no session %" G_GINT64_FORMAT, session_id);
      return FALSE;
    }
  sc->buyer_id = sqlite3_column_int64 (raw, 0);
  sc->seller_id = sqlite3_column_int64 (raw, 1);
  sc->seller_total = sqlite3_column_int64 (raw, 2);
  sc->fee_total = sqlite3_column_int64 (raw, 3);
  if (sc->seller_total + sc->fee_total > 0)
    return TRUE;
  g_set_error (error, KMG_BILLING_ERROR, KMG_BILLING_ERROR_INVALID,
               "session %" G_GINT64_FORMAT " has no charges to refund", session_id);
  return FALSE;
}

/* Both legs, each idempotent on its own key; replayed only if every leg was. */
static gboolean
refund_in_txn (KmgLedger *l, gint64 session_id, const SessionCharges *sc, gint64 now_ms,
               KmgTransferResult *res, GError **error)
{
  g_autofree char *k_seller = g_strdup_printf ("refund:%" G_GINT64_FORMAT ":seller", session_id);
  g_autofree char *k_fee = g_strdup_printf ("refund:%" G_GINT64_FORMAT ":fee", session_id);
  Spec legs[2] = {
    { sc->seller_id, sc->buyer_id, sc->seller_total, KMG_TRANSFER_REFUND, k_seller, "",
      session_id, -1 },
    { KMG_ACCOUNT_PLATFORM, sc->buyer_id, sc->fee_total, KMG_TRANSFER_REFUND, k_fee, "",
      session_id, -1 },
  };

  res->transfer_id = 0;
  res->replayed = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (legs); i++)
    {
      KmgTransferResult leg = { 0 };
      if (legs[i].amount == 0)
        continue;
      if (!append_in_txn (l, &legs[i], now_ms, &leg, error))
        return FALSE;
      if (res->transfer_id == 0)
        res->transfer_id = leg.transfer_id;
      res->replayed = res->replayed && leg.replayed;
    }
  return TRUE;
}

gboolean
kmg_ledger_refund (KmgLedger *l, gint64 session_id, const char *reason, gint64 admin_id,
                   gint64 now_ms, KmgTransferResult *out, GError **error)
{
  SessionCharges sc = { 0 };
  KmgTransferResult res = { 0 };

  if (!reason_valid (reason, error) || !kmg_ledger_begin (l, error))
    return FALSE;
  if (!load_session_charges (l, session_id, &sc, error)
      || !refund_in_txn (l, session_id, &sc, now_ms, &res, error)
      || (!res.replayed
          && !record_admin_action (l, admin_id, "refund", sc.buyer_id, res.transfer_id, reason,
                                   sc.seller_total + sc.fee_total, now_ms, error)))
    {
      kmg_ledger_rollback (l);
      return FALSE;
    }
  if (!kmg_ledger_commit (l, error))
    return FALSE;
  if (out)
    *out = res;
  return TRUE;
}

/* Claims minute c->evidence.minute_index of an active session whose price, fee and parties
 * match (the caller has checked that the buyer's balance covers it): the row's charged_minutes
 * must be exactly that index, so minutes go in order and a minute already charged can never be
 * claimed again. */
static gboolean
claim_session_minute (KmgLedger *l, const KmgMinuteCharge *c, gboolean *ok, GError **error)
{
  static const char *const sql =
    "UPDATE watch_sessions SET charged_minutes = charged_minutes + 1, "
    "delivered_seconds = MAX (delivered_seconds, ?7) "
    "WHERE id = ?1 AND ended_at IS NULL AND buyer_id = ?2 AND seller_id = ?3 "
    "AND price_per_minute = ?4 AND fee_pct = ?5 AND charged_minutes = ?6";
  g_autoptr (KmgDbStmt) st = kmg_db_prepare_static (l->db, &sql, error);
  sqlite3_stmt *raw;

  if (st == NULL)
    return FALSE;
  raw = kmg_db_stmt_raw (st);
  sqlite3_bind_int64 (raw, 1, c->session_id);
  sqlite3_bind_int64 (raw, 2, c->buyer_id);
  sqlite3_bind_int64 (raw, 3, c->seller_id);
  sqlite3_bind_int64 (raw, 4, c->price);
  sqlite3_bind_int64 (raw, 5, c->fee_pct);
  sqlite3_bind_int64 (raw, 6, c->evidence.minute_index);
  sqlite3_bind_int64 (raw, 7, (gint64) c->evidence.total_seconds);
  if (kmg_db_step (st, error) < 0)
    return FALSE;
  *ok = kmg_db_changes (l->db) == 1;
  return TRUE;
}

static Pending *
pending_get (KmgLedger *l, gint64 account)
{
  Pending *p = g_hash_table_lookup (l->pending, &account);

  if (p == NULL)
    {
      p = g_new0 (Pending, 1);
      p->id = account;
      g_hash_table_insert (l->pending, &p->id, p);
    }
  return p;
}

static void
pending_move (Pending *p, gint64 amount)
{
  p->delta += amount;
  p->balance += amount;
}

/* The buyer's balance at this point of the batch: read once, then followed in memory. */
static Pending *
pending_buyer (KmgLedger *l, gint64 buyer, GError **error)
{
  Pending *p = pending_get (l, buyer);
  gint64 stored = 0;

  if (p->known)
    return p;
  if (!kmg_ledger_balance (l, buyer, &stored, error))
    return NULL;
  p->balance = stored + p->delta; /* it may have been credited as a seller earlier */
  p->known = TRUE;
  return p;
}

/* Writes the batch's balance changes; the accounts' CHECK still refuses a negative balance. */
static gboolean
pending_write (KmgLedger *l, GError **error)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, l->pending);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      Pending *p = value;
      if (p->delta != 0 && !credit_account (l, p->id, p->delta, error))
        return FALSE;
    }
  g_hash_table_remove_all (l->pending);
  return TRUE;
}

/* Why a minute could not be claimed: already charged (replay or conflict), no money, or the
 * session is not (or no longer) the one described. Only runs on the rare refused path. */
static gboolean
explain_refusal (KmgLedger *l, KmgMinuteCharge *c, gint64 balance, const Spec *probe,
                 GError **error)
{
  gint64 ignored = 0;

  c->balance_after = balance;
  /* The key may be among the rows this batch has queued. */
  if (!kmg_ledger_rows_flush (l->rows, l->db, error))
    return FALSE;
  switch (find_by_key (l, probe, &ignored, error))
    {
    case KEY_ERROR:
      return FALSE;
    case KEY_SAME:
      c->status = KMG_CHARGE_REPLAYED;
      return TRUE;
    case KEY_CONFLICT:
      c->status = KMG_CHARGE_CONFLICT;
      return TRUE;
    case KEY_NEW:
      break;
    }
  c->status = kmg_charge_decide (c->balance_after, c->price, 0, NULL)
                  == KMG_CHARGE_DECISION_END_INSUFFICIENT
                ? KMG_CHARGE_INSUFFICIENT
                : KMG_CHARGE_NOT_ACTIVE;
  return TRUE;
}

static gboolean
charge_one (KmgLedger *l, KmgMinuteCharge *c, gint64 now_ms, GError **error)
{
  gint64 share, fee;
  gint64 minute = c->evidence.minute_index;
  char k_seller[96], k_fee[96];
  gboolean claimed = FALSE;
  Spec seller_leg, fee_leg;
  Pending *buyer = pending_buyer (l, c->buyer_id, error);

  if (buyer == NULL)
    return FALSE;

  kmg_charge_split (c->price, c->fee_pct, &share, &fee);
  g_snprintf (k_seller, sizeof k_seller, "charge:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":seller",
              c->session_id, minute);
  g_snprintf (k_fee, sizeof k_fee, "charge:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":fee",
              c->session_id, minute);
  seller_leg = (Spec){ c->buyer_id, c->seller_id, share, KMG_TRANSFER_CHARGE, k_seller, "",
                       c->session_id, minute };
  fee_leg = (Spec){ c->buyer_id, KMG_ACCOUNT_PLATFORM, fee, KMG_TRANSFER_CHARGE, k_fee, "",
                    c->session_id, minute };
  c->low_balance = FALSE;
  c->seller_share = c->fee = 0;
  /* The claim is the idempotency gate: it succeeds once per (session, minute), and is only tried
   * when the balance covers the price. The key is probed only when it is refused. */
  if (buyer->balance >= c->price && !claim_session_minute (l, c, &claimed, error))
    return FALSE;
  if (!claimed)
    return explain_refusal (l, c, buyer->balance, share > 0 ? &seller_leg : &fee_leg, error);
  /* From here every step must succeed or the whole batch is rolled back. A leg whose key exists
   * although the claim succeeded (rows edited by hand) fails the insert: UNIQUE. */
  if ((share > 0 && !insert_row (l, &seller_leg, now_ms, TRUE, NULL, error))
      || (fee > 0 && !insert_row (l, &fee_leg, now_ms, TRUE, NULL, error))
      || !kmg_ledger_rows_add_evidence (l->rows, l->db, c->session_id, &c->evidence,
                                        now_ms / 1000, error))
    return FALSE;
  pending_move (buyer, -c->price);
  pending_move (pending_get (l, c->seller_id), share);
  pending_move (pending_get (l, KMG_ACCOUNT_PLATFORM), fee);
  c->balance_after = buyer->balance;
  c->low_balance = c->balance_after < c->price * (gint64) c->low_balance_minutes;
  c->seller_share = share;
  c->fee = fee;
  c->status = KMG_CHARGE_OK;
  return TRUE;
}

gboolean
kmg_ledger_charge_minutes_in_txn (KmgLedger *l, KmgMinuteCharge *charges, guint n,
                                  gint64 now_ms, GError **error)
{
  g_return_val_if_fail (l->in_txn, FALSE);
  g_hash_table_remove_all (l->pending);
  kmg_ledger_rows_clear (l->rows);
  for (guint i = 0; i < n; i++)
    {
      if (charges[i].price < KMG_PRICE_MIN || charges[i].price > KMG_PRICE_MAX
          || charges[i].fee_pct > 100 || charges[i].buyer_id <= 0 || charges[i].seller_id <= 0)
        {
          charges[i].status = KMG_CHARGE_NOT_ACTIVE;
          continue;
        }
      if (!charge_one (l, &charges[i], now_ms, error))
        {
          g_prefix_error (error, "charging session %" G_GINT64_FORMAT " minute %u: ",
                          charges[i].session_id, charges[i].evidence.minute_index);
          return FALSE;
        }
    }
  if (!kmg_ledger_rows_flush (l->rows, l->db, error))
    {
      g_prefix_error (error, "writing the charge batch: ");
      return FALSE;
    }
  return pending_write (l, error);
}

gboolean
kmg_ledger_charge_minutes (KmgLedger *l, KmgMinuteCharge *charges, guint n, gint64 now_ms,
                           GError **error)
{
  if (!kmg_ledger_begin (l, error))
    return FALSE;
  if (!kmg_ledger_charge_minutes_in_txn (l, charges, n, now_ms, error))
    {
      kmg_ledger_rollback (l);
      return FALSE;
    }
  return kmg_ledger_commit (l, error);
}
