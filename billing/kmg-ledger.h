/* kmg-ledger.h — the double-entry, append-only, hash-chained ledger over KmgDb (DESIGN §6).
 * Every credit that moves is a transfer row; balances are kept in step in the same transaction. */
#pragma once

#include "kmg-billing-types.h"
#include "kmg-charging.h"
#include "kmg-anchor.h"
#include "kmg-db.h"

G_BEGIN_DECLS

typedef struct _KmgLedger KmgLedger;

/* Borrows @db, which must outlive the ledger. Owned by the main context. */
KmgLedger *kmg_ledger_new (KmgDb *db);
void kmg_ledger_free (KmgLedger *ledger);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgLedger, kmg_ledger_free)

KmgDb *kmg_ledger_get_db (KmgLedger *ledger);
/* After each commit that added transfers, the chain head is appended to @log (borrowed; NULL:
 * none). See kmg-anchor.h. */
void kmg_ledger_set_anchor_log (KmgLedger *ledger, KmgAnchorLog *log);

/* Composite operations: BEGIN IMMEDIATE (reads the chain tail) / COMMIT / ROLLBACK. The
 * *_in_txn functions below require one; the others open and commit their own. */
gboolean kmg_ledger_begin (KmgLedger *ledger, GError **error);
gboolean kmg_ledger_commit (KmgLedger *ledger, GError **error);
void kmg_ledger_rollback (KmgLedger *ledger);

/* Creates the wallet of user @user_id if missing (balance 0). */
gboolean kmg_ledger_ensure_account (KmgLedger *ledger, gint64 user_id, gint64 now_ms,
                                    GError **error);
/* Balance of any account (a missing user wallet reads as 0). O(1). */
gboolean kmg_ledger_balance (KmgLedger *ledger, gint64 account, gint64 *out, GError **error);

typedef struct
{
  gint64 transfer_id; /* the (first) row written, or the one found on replay */
  gboolean replayed;  /* the key was already used with the same content: nothing changed */
} KmgTransferResult;

/* Moves @amount from @debit to @credit. A repeated @idempotency_key with the same content returns
 * the first result; with different content fails with IDEMPOTENCY_CONFLICT. A debit that would
 * make a balance negative (other than the external account's) fails with INSUFFICIENT_CREDITS.
 * @kind must not be CHARGE (use kmg_ledger_charge_minutes). */
gboolean kmg_ledger_transfer (KmgLedger *ledger, gint64 debit, gint64 credit, gint64 amount,
                              KmgTransferKind kind, const char *idempotency_key, const char *memo,
                              gint64 now_ms, KmgTransferResult *out, GError **error);

/* A verified webhook top-up: external → user, idempotent on @payment_ref. */
gboolean kmg_ledger_topup (KmgLedger *ledger, gint64 user_id, gint64 amount,
                           const char *payment_ref, gint64 now_ms, KmgTransferResult *out,
                           GError **error);

/* An admin grant: external → user with a required @reason, recorded in admin_actions
 * (@admin_id 0 when done from kamegorctl). @idempotency_key may be NULL (a fresh one is made). */
gboolean kmg_ledger_grant (KmgLedger *ledger, gint64 user_id, gint64 amount, const char *reason,
                           gint64 admin_id, const char *idempotency_key, gint64 now_ms,
                           KmgTransferResult *out, GError **error);

/* Refunds every charge of a session: the seller's shares from the seller and the fees from the
 * platform back to the buyer. Once per session (replays return the first result). */
gboolean kmg_ledger_refund (KmgLedger *ledger, gint64 session_id, const char *reason,
                            gint64 admin_id, gint64 now_ms, KmgTransferResult *out,
                            GError **error);

typedef enum
{
  KMG_CHARGE_OK,
  KMG_CHARGE_REPLAYED,     /* this (session, minute) was already charged identically */
  KMG_CHARGE_INSUFFICIENT, /* the buyer's balance does not cover the price: nothing written */
  KMG_CHARGE_CONFLICT,     /* already charged with different content */
  KMG_CHARGE_NOT_ACTIVE,   /* session ended, unknown, or minute/price/parties do not match */
} KmgChargeStatus;

/* One minute charge: idempotent on (session, minute index). Moves price from the buyer to the
 * seller (price − fee) and the platform (fee), writes the evidence row and bumps the session's
 * charged_minutes — all or nothing. */
typedef struct
{
  gint64 session_id;
  gint64 buyer_id;
  gint64 seller_id;
  gint64 price;
  guint fee_pct;
  guint low_balance_minutes;
  KmgMinuteEvidence evidence; /* evidence.minute_index is the minute charged */
  /* out */
  KmgChargeStatus status;
  gint64 balance_after; /* buyer's balance after this item */
  gint64 seller_share;  /* OK: the credits the two legs moved (price − fee, fee) */
  gint64 fee;
  gboolean low_balance; /* fewer than low_balance_minutes minutes left after the charge */
} KmgMinuteCharge;

/* All items in ONE transaction (one fsync). Per-item outcomes are in each item's status; FALSE
 * only when the store failed, and then nothing at all was written. */
gboolean kmg_ledger_charge_minutes (KmgLedger *ledger, KmgMinuteCharge *charges, guint n,
                                    gint64 now_ms, GError **error);
gboolean kmg_ledger_charge_minutes_in_txn (KmgLedger *ledger, KmgMinuteCharge *charges, guint n,
                                           gint64 now_ms, GError **error);

G_END_DECLS
