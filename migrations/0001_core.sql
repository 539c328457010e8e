-- The contract tables of DESIGN.md. Timestamps are ISO-8601 UTC text ('2026-11-28T04:00:00Z').

CREATE TABLE feeds (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    url                  TEXT NOT NULL UNIQUE,
    etag                 TEXT,
    last_modified        TEXT,
    last_polled_at       TEXT,
    last_success_at      TEXT,
    next_poll_at         TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    -- 0 once the feed is removed from the config: it is no longer polled, its history stays.
    active               INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    url           TEXT,
    guid          TEXT,
    feed_id       INTEGER REFERENCES feeds(id),
    title         TEXT NOT NULL,
    origin        TEXT NOT NULL CHECK (origin IN ('feed', 'seed')),
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    published_at  TEXT,
    matched_terms TEXT NOT NULL DEFAULT '[]',
    -- Seeds only: the seed file's name (its identity), the source and the language it declares.
    seed_name     TEXT UNIQUE,
    source        TEXT,
    language      TEXT
);
CREATE INDEX articles_url ON articles(url);
CREATE INDEX articles_first_seen ON articles(first_seen_at);

-- Every key an article was ever seen under (canonical URL, guid, title of a seed, ...), so a
-- publisher that changes an item's guid or link does not create a second story.
CREATE TABLE article_keys (
    key        TEXT PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id)
) WITHOUT ROWID;
CREATE INDEX article_keys_article ON article_keys(article_id);

CREATE TABLE revisions (
    id           INTEGER PRIMARY KEY,
    article_id   INTEGER NOT NULL REFERENCES articles(id),
    number       INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    body_kind    TEXT NOT NULL CHECK (body_kind IN ('seed', 'summary', 'content', 'page')),
    content_hash TEXT NOT NULL,
    observed_at  TEXT NOT NULL,
    feed_id      INTEGER REFERENCES feeds(id),
    UNIQUE (article_id, number)
);
CREATE INDEX revisions_kind_hash ON revisions(article_id, body_kind, content_hash);

CREATE TABLE alerts (
    -- seq orders alerts (delivery order); id is the stable identifier receivers deduplicate on.
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL CHECK (kind IN ('new', 'changed')),
    article_id           INTEGER NOT NULL REFERENCES articles(id),
    revision_id          INTEGER NOT NULL REFERENCES revisions(id),
    previous_revision_id INTEGER REFERENCES revisions(id),
    created_at           TEXT NOT NULL,
    diff                 TEXT,
    words_added          INTEGER,
    words_removed        INTEGER,
    title_changed        INTEGER
);
CREATE INDEX alerts_article ON alerts(article_id);

CREATE TABLE deliveries (
    alert_id        TEXT NOT NULL REFERENCES alerts(id),
    sink            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    delivered_at    TEXT,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX deliveries_pending ON deliveries(sink, status);

CREATE TABLE fetches (
    id               INTEGER PRIMARY KEY,
    feed_id          INTEGER NOT NULL REFERENCES feeds(id),
    started_at       TEXT NOT NULL,
    duration_ms      INTEGER NOT NULL,
    http_status      INTEGER,
    bytes            INTEGER,
    items            INTEGER,
    new_articles     INTEGER,
    changed_articles INTEGER,
    error            TEXT
);
CREATE INDEX fetches_feed ON fetches(feed_id, started_at);
