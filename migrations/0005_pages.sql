-- Article pages (issue 13): the schedule and state of each tracked article's page, the HTML of
-- page revisions when `[pages] keep_html` is on, and a third alert kind, `removed`.

-- One row per article whose page is watched. The schedule restarts (`schedule_from`, `step`)
-- when the page's text changes; `next_check_at` NULL means the schedule is over.
CREATE TABLE pages (
    article_id           INTEGER PRIMARY KEY REFERENCES articles(id),
    url                  TEXT NOT NULL,
    host                 TEXT NOT NULL,
    -- 0 while the article's feed has `pages = false` (or has left the config): not checked.
    active               INTEGER NOT NULL DEFAULT 1,
    schedule_from        TEXT NOT NULL,
    next_check_at        TEXT,
    last_checked_at      TEXT,
    last_success_at      TEXT,
    last_status          INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    etag                 TEXT,
    last_modified        TEXT,
    -- Checks in a row that answered 404 or 410.
    gone_checks          INTEGER NOT NULL DEFAULT 0,
    -- When the `removed` alert was raised; NULL again once the page is back.
    removed_at           TEXT
);
CREATE INDEX pages_due ON pages(next_check_at) WHERE next_check_at IS NOT NULL AND active = 1;
CREATE INDEX pages_host ON pages(host);

-- The page as served, gzip-compressed, for each page revision (only with keep_html).
CREATE TABLE page_html (
    revision_id INTEGER PRIMARY KEY REFERENCES revisions(id),
    url         TEXT NOT NULL,
    html_gzip   BLOB NOT NULL
);

-- `alerts.kind` gains `removed`, and `reason` says why a page counts as gone. SQLite cannot
-- change a CHECK in place: the table is rebuilt (foreign keys are off while migrations run)
-- and the view over it made again.
DROP VIEW changes;
CREATE TABLE alerts_new (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL CHECK (kind IN ('new', 'changed', 'removed')),
    article_id           INTEGER NOT NULL REFERENCES articles(id),
    revision_id          INTEGER NOT NULL REFERENCES revisions(id),
    previous_revision_id INTEGER REFERENCES revisions(id),
    created_at           TEXT NOT NULL,
    diff                 TEXT,
    words_added          INTEGER,
    words_removed        INTEGER,
    title_changed        INTEGER,
    reason               TEXT
);
INSERT INTO alerts_new (seq, id, kind, article_id, revision_id, previous_revision_id,
                        created_at, diff, words_added, words_removed, title_changed)
SELECT seq, id, kind, article_id, revision_id, previous_revision_id, created_at, diff,
       words_added, words_removed, title_changed
FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE INDEX alerts_article ON alerts(article_id);

CREATE VIEW changes AS
SELECT al.id             AS alert_id,
       al.created_at     AS created_at,
       al.article_id     AS article_id,
       r.title           AS title,
       ar.url            AS url,
       f.name            AS feed,
       p.number          AS from_revision,
       r.number          AS to_revision,
       al.words_added    AS words_added,
       al.words_removed  AS words_removed,
       al.title_changed  AS title_changed,
       r.body_kind       AS body_kind
FROM alerts al
JOIN articles ar ON ar.id = al.article_id
JOIN revisions r ON r.id = al.revision_id
LEFT JOIN revisions p ON p.id = al.previous_revision_id
LEFT JOIN feeds f ON f.id = COALESCE(r.feed_id, ar.feed_id)
WHERE al.kind = 'changed';

-- Each watched page with its article's title and feed, for `storywatch pages` and sqlite3.
CREATE VIEW page_health AS
SELECT pg.article_id           AS article_id,
       a.title                 AS title,
       pg.url                  AS url,
       f.name                  AS feed,
       pg.active               AS active,
       pg.next_check_at        AS next_check_at,
       pg.last_checked_at      AS last_checked_at,
       pg.last_success_at      AS last_success_at,
       pg.last_status          AS last_status,
       pg.consecutive_failures AS consecutive_failures,
       pg.last_error           AS last_error,
       pg.removed_at           AS removed_at,
       (SELECT COUNT(*) FROM revisions r
         WHERE r.article_id = pg.article_id AND r.body_kind = 'page') AS page_revisions
FROM pages pg
JOIN articles a ON a.id = pg.article_id
LEFT JOIN feeds f ON f.id = a.feed_id;
