-- 0001: accounts, tokens, seller profiles, consent records, pictures, moderation log.
-- Precise locations are never stored anywhere in this database (DESIGN §4).

CREATE TABLE users (
  id                 INTEGER PRIMARY KEY,
  username           TEXT    NOT NULL,
  username_key       TEXT    NOT NULL UNIQUE,       -- casefolded, for case-insensitive uniqueness
  password_hash      TEXT    NOT NULL,              -- argon2id, libsodium crypto_pwhash_str
  display_name       TEXT    NOT NULL DEFAULT '',
  role               TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  is_seller          INTEGER NOT NULL DEFAULT 0 CHECK (is_seller IN (0, 1)),
  seller_description TEXT    NOT NULL DEFAULT '',
  price_per_minute   INTEGER NOT NULL DEFAULT 10 CHECK (price_per_minute BETWEEN 1 AND 10000),
  always_relay       INTEGER NOT NULL DEFAULT 0 CHECK (always_relay IN (0, 1)),
  picture_id         TEXT,                          -- content hash of the current picture
  banned_at          INTEGER,                       -- unix seconds, NULL when not banned
  ban_reason         TEXT,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);

CREATE TABLE tokens (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users (id),
  token_hash   BLOB    NOT NULL UNIQUE,              -- SHA-256 of the 32 random bytes
  label        TEXT    NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX tokens_user ON tokens (user_id);

-- Every consent given or withdrawn is kept, with its time and the wording version shown.
CREATE TABLE consents (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users (id),
  kind       TEXT    NOT NULL CHECK (kind IN ('location')),
  granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
  created_at INTEGER NOT NULL
);
CREATE INDEX consents_user ON consents (user_id, kind);

CREATE TABLE pictures (
  id           TEXT    PRIMARY KEY,                  -- hex SHA-256 of the bytes
  user_id      INTEGER NOT NULL REFERENCES users (id),
  content_type TEXT    NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
  size         INTEGER NOT NULL,
  created_at   INTEGER NOT NULL
);

-- Who did what, when and why: every admin action.
CREATE TABLE admin_actions (
  id          INTEGER PRIMARY KEY,
  admin_id    INTEGER REFERENCES users (id),         -- NULL when done from kamegorctl
  action      TEXT    NOT NULL,
  target_user INTEGER REFERENCES users (id),
  target_ref  TEXT,
  reason      TEXT    NOT NULL,
  detail      TEXT    NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL
);
CREATE INDEX admin_actions_time ON admin_actions (created_at);
