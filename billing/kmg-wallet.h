/* kmg-wallet.h — a user's own view of the ledger: balance and transfers, newest first, paged.
 * The caller must have authorised the request as that user (or an admin). */
#pragma once

#include "kmg-billing-types.h"
#include "kmg-db.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 transfer_id;
  gint64 created_at;   /* unix seconds */
  KmgTransferKind kind;
  gint64 amount;       /* signed from the owner's view: > 0 received, < 0 paid */
  gint64 session_id;   /* 0: none */
  gint64 minute_index; /* -1: none */
  char *memo;
} KmgWalletEntry;

typedef struct
{
  gint64 balance;
  GArray *entries;       /* KmgWalletEntry */
  gint64 next_before_id; /* pass as @before_id for the next page; 0 when no more */
} KmgWalletPage;

void kmg_wallet_page_free (KmgWalletPage *page);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgWalletPage, kmg_wallet_page_free)

/* @before_id 0 starts at the newest; @limit is clamped to 1..100. */
KmgWalletPage *kmg_wallet_page (KmgDb *db, gint64 user_id, gint64 before_id, guint limit,
                                GError **error);

G_END_DECLS
