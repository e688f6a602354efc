-- signpost's one schema. Applied on every start; every statement is idempotent.
-- The schema version lives in PRAGMA user_version (set by src/store/init.rs).
-- Times are Unix seconds (UTC) unless a column says milliseconds.

CREATE TABLE IF NOT EXISTS accounts (
    sid               TEXT PRIMARY KEY,
    owner_account_sid TEXT REFERENCES accounts(sid),     -- NULL for top-level accounts
    friendly_name     TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
    auth_token_hash   BLOB NOT NULL,                     -- SHA-256 of the auth token (per-request check)
    auth_token_enc    BLOB NOT NULL,                     -- ChaCha20-Poly1305(nonce || ciphertext): signs status callbacks
    date_created      INTEGER NOT NULL,
    date_updated      INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS accounts_owner ON accounts(owner_account_sid);

CREATE TABLE IF NOT EXISTS sessions (
    sid           TEXT PRIMARY KEY,
    account_sid   TEXT NOT NULL REFERENCES accounts(sid) ON DELETE CASCADE,
    token_hash    BLOB NOT NULL UNIQUE,                  -- SHA-256 of the bearer token; the token itself is never stored
    csrf_token    TEXT NOT NULL,                         -- for browser forms (not a credential on its own)
    date_created  INTEGER NOT NULL,
    date_expires  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_account ON sessions(account_sid);

CREATE TABLE IF NOT EXISTS messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,   -- keyset paging position (newest first)
    sid             TEXT NOT NULL UNIQUE,
    account_sid     TEXT NOT NULL REFERENCES accounts(sid),
    to_number       TEXT NOT NULL,
    from_number     TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    direction       TEXT NOT NULL,
    num_segments    INTEGER NOT NULL,
    num_media       INTEGER NOT NULL,
    error_code      INTEGER,
    error_message   TEXT,
    status_callback TEXT,
    send_at         INTEGER,
    next_step_at    INTEGER,                             -- ms; when the dispatcher next moves it (NULL: final state)
    date_created    INTEGER NOT NULL,
    date_updated    INTEGER NOT NULL,
    date_sent       INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS messages_account ON messages(account_sid, seq);
CREATE INDEX IF NOT EXISTS messages_due ON messages(next_step_at) WHERE next_step_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS media (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    sid           TEXT NOT NULL UNIQUE,
    message_sid   TEXT NOT NULL REFERENCES messages(sid) ON DELETE CASCADE,
    account_sid   TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    url           TEXT NOT NULL,
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS media_message ON media(message_sid, seq);

CREATE TABLE IF NOT EXISTS feedback (
    message_sid   TEXT PRIMARY KEY REFERENCES messages(sid) ON DELETE CASCADE,
    account_sid   TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('confirmed', 'unconfirmed')),
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL
) STRICT;

-- Which account owns a sender number: the first account to send from it. Messages to that
-- number from anyone else are delivered into that account as inbound messages.
CREATE TABLE IF NOT EXISTS numbers (
    number        TEXT PRIMARY KEY,
    account_sid   TEXT NOT NULL REFERENCES accounts(sid) ON DELETE CASCADE
) STRICT;

-- Status callbacks waiting to be POSTed (at-least-once, in order per message).
CREATE TABLE IF NOT EXISTS callbacks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_sid   TEXT NOT NULL,
    account_sid   TEXT NOT NULL,
    url           TEXT NOT NULL,
    params        TEXT NOT NULL,                         -- form-encoded parameters
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,                    -- ms
    last_error    TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks(next_attempt_at);
CREATE INDEX IF NOT EXISTS callbacks_message ON callbacks(message_sid, id);

-- Idempotency-Key replays: the first response to a creating POST, kept 24 hours.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal     TEXT NOT NULL,                         -- the account (or client address) that sent it
    key           TEXT NOT NULL,
    request_hash  BLOB NOT NULL,                         -- method, path and body of the first request
    status        INTEGER NOT NULL,
    headers       TEXT NOT NULL,                         -- JSON [[name, value], ...]
    body          BLOB NOT NULL,
    date_created  INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
) STRICT, WITHOUT ROWID;
