-- 0002: billing — wallets, the hash-chained double-entry ledger, watch sessions, measured-minute
-- evidence, ratings and top-up references (DESIGN §6–7). docs/billing.md documents every column.

-- One row per account. A user's wallet has the user's id; the two system accounts have ids that
-- no user can have: 0 = platform revenue, -1 = external (credits entering the system).
-- balance is kept in step with transfers in the same transaction so a read is O(1); the audit
-- recomputes it from the transfers.
CREATE TABLE accounts (
  id         INTEGER PRIMARY KEY,
  kind       TEXT    NOT NULL CHECK (kind IN ('user', 'platform', 'external')),
  balance    INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  CHECK ((kind = 'user') = (id > 0)),
  CHECK (kind = 'external' OR balance >= 0)
);
INSERT INTO accounts (id, kind, balance, created_at) VALUES (0, 'platform', 0, 0);
INSERT INTO accounts (id, kind, balance, created_at) VALUES (-1, 'external', 0, 0);

-- A watch session as billing sees it; signaling creates and ends rows through the billing API
-- and may add its own columns in a later migration. Prices and rules are fixed at start so the
-- audit can re-derive every charge with the rules that applied.
CREATE TABLE watch_sessions (
  id                INTEGER PRIMARY KEY,
  buyer_id          INTEGER NOT NULL REFERENCES users (id),
  seller_id         INTEGER NOT NULL REFERENCES users (id),
  price_per_minute  INTEGER NOT NULL CHECK (price_per_minute BETWEEN 1 AND 10000),
  fee_pct           INTEGER NOT NULL CHECK (fee_pct BETWEEN 0 AND 100),
  min_billable_s    INTEGER NOT NULL CHECK (min_billable_s >= 1),
  minute_s          INTEGER NOT NULL CHECK (minute_s >= min_billable_s),
  path              TEXT    NOT NULL DEFAULT 'pending' CHECK (path IN ('pending', 'p2p', 'relay')),
  started_at        INTEGER NOT NULL,               -- unix seconds
  ended_at          INTEGER,                        -- unix seconds, NULL while active
  end_reason        TEXT    CHECK (end_reason IS NULL OR length (end_reason) BETWEEN 1 AND 64),
  delivered_seconds INTEGER NOT NULL DEFAULT 0 CHECK (delivered_seconds >= 0),
  charged_minutes   INTEGER NOT NULL DEFAULT 0 CHECK (charged_minutes >= 0),
  CHECK (buyer_id <> seller_id),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX watch_sessions_active ON watch_sessions (id) WHERE ended_at IS NULL;
CREATE INDEX watch_sessions_seller ON watch_sessions (seller_id, id);
CREATE INDEX watch_sessions_buyer ON watch_sessions (buyer_id, id);

-- Append-only, double entry, hash-chained. id is the chain order (no gaps: each row is written
-- with id = previous id + 1). content is the canonical text of the row (docs/billing.md);
-- hash = hex SHA-256 (prev_hash hex || content); the first row's prev_hash is 64 zeros.
CREATE TABLE transfers (
  id              INTEGER PRIMARY KEY,
  debit_account   INTEGER NOT NULL REFERENCES accounts (id),
  credit_account  INTEGER NOT NULL REFERENCES accounts (id),
  amount          INTEGER NOT NULL CHECK (amount > 0),
  kind            TEXT    NOT NULL CHECK (kind IN ('topup', 'grant', 'charge', 'refund')),
  idempotency_key TEXT    NOT NULL UNIQUE,
  session_id      INTEGER REFERENCES watch_sessions (id),
  minute_index    INTEGER CHECK (minute_index IS NULL OR minute_index >= 0),
  memo            TEXT    NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,                 -- unix seconds
  content         TEXT    NOT NULL,
  prev_hash       TEXT    NOT NULL,
  hash            TEXT    NOT NULL,
  CHECK (debit_account <> credit_account),
  CHECK ((kind = 'charge') = (minute_index IS NOT NULL))
);
CREATE INDEX transfers_debit ON transfers (debit_account, id);
CREATE INDEX transfers_credit ON transfers (credit_account, id);
-- At most one charge leg per (session, minute, receiving account).
CREATE UNIQUE INDEX transfers_charge_once
  ON transfers (session_id, minute_index, credit_account) WHERE kind = 'charge';

CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN
  SELECT RAISE (ABORT, 'transfers are append-only');
END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN
  SELECT RAISE (ABORT, 'transfers are append-only');
END;

-- Evidence behind every charged minute: the delivered seconds counted since the previous charged
-- minute, up to and including the second that made this minute due.
CREATE TABLE measured_minutes (
  session_id        INTEGER NOT NULL REFERENCES watch_sessions (id),
  minute_index      INTEGER NOT NULL CHECK (minute_index >= 0),
  source            TEXT    NOT NULL CHECK (source IN ('relay_measured', 'buyer_attested')),
  first_second      INTEGER NOT NULL,               -- unix second, inclusive
  last_second       INTEGER NOT NULL,               -- unix second, inclusive
  delivered_seconds INTEGER NOT NULL CHECK (delivered_seconds > 0),
  total_seconds     INTEGER NOT NULL,               -- delivered seconds of the session so far
  packets           INTEGER NOT NULL DEFAULT 0 CHECK (packets >= 0),
  bytes             INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  loss              REAL    NOT NULL DEFAULT 0 CHECK (loss >= 0 AND loss <= 1), -- worst fraction
  jitter_ms         REAL,
  rtt_ms            REAL,
  created_at        INTEGER NOT NULL,
  PRIMARY KEY (session_id, minute_index),
  CHECK (last_second >= first_second),
  CHECK (total_seconds >= delivered_seconds)
) WITHOUT ROWID;

CREATE TABLE ratings (
  id         INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL UNIQUE REFERENCES watch_sessions (id),
  buyer_id   INTEGER NOT NULL REFERENCES users (id),
  seller_id  INTEGER NOT NULL REFERENCES users (id),
  stars      INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
  created_at INTEGER NOT NULL
);
CREATE INDEX ratings_seller ON ratings (seller_id, id);

-- Payment references from the top-up webhook: one credit per reference, ever.
CREATE TABLE topups (
  payment_ref TEXT    PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users (id),
  amount      INTEGER NOT NULL CHECK (amount > 0),
  transfer_id INTEGER NOT NULL REFERENCES transfers (id),
  received_at INTEGER NOT NULL
);
