/* kmg-canon.h — the canonical text of a ledger transfer and its chained SHA-256 (pure).
 * This format is a promise to auditors: docs/billing.md describes it byte for byte. */
#pragma once

#include "kmg-billing-types.h"

G_BEGIN_DECLS

#define KMG_HASH_HEX_LEN 64
/* prev_hash of the first transfer. */
#define KMG_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct
{
  gint64 id;
  gint64 debit_account;
  gint64 credit_account;
  gint64 amount;
  KmgTransferKind kind;
  const char *idempotency_key;
  gint64 session_id;   /* 0: none */
  gint64 minute_index; /* -1: none */
  gint64 created_at;   /* unix seconds */
  const char *memo;
} KmgTransferRow;

/* Replaces @out's contents with the canonical text of @row. */
void kmg_transfer_canonical (const KmgTransferRow *row, GString *out);
/* hash = lowercase hex SHA-256 over the 64 ASCII hex digits of @prev_hash then @content. */
void kmg_transfer_hash (const char *prev_hash, const char *content, gsize content_len,
                        char out[KMG_HASH_HEX_LEN + 1]);

G_END_DECLS
