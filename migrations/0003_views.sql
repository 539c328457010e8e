-- Views for people reviewing changes with sqlite3 alone, and for the read commands
-- (`articles`, `feeds`), which query them so that what the README documents is what they show.
-- A revision's feed is the feed its text came from, else the feed that first found the article.

-- Each article with its current (highest-numbered) revision.
CREATE VIEW latest_revisions AS
SELECT a.id              AS article_id,
       r.title           AS title,
       a.url             AS url,
       a.origin          AS origin,
       f.name            AS feed,
       a.first_seen_at   AS first_seen_at,
       r.id              AS revision_id,
       r.number          AS revision_number,
       r.body_kind       AS body_kind,
       r.observed_at     AS observed_at,
       a.topic_score     AS topic_score,
       (SELECT COUNT(*) FROM revisions c WHERE c.article_id = a.id) AS revision_count
FROM articles a
JOIN revisions r
  ON r.article_id = a.id
 AND r.number = (SELECT MAX(m.number) FROM revisions m WHERE m.article_id = a.id)
LEFT JOIN feeds f ON f.id = COALESCE(r.feed_id, a.feed_id);

-- Every `changed` alert: which story, which revisions, how much changed.
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
       al.title_changed  AS title_changed
FROM alerts al
JOIN articles ar ON ar.id = al.article_id
JOIN revisions r ON r.id = al.revision_id
LEFT JOIN revisions p ON p.id = al.previous_revision_id
LEFT JOIN feeds f ON f.id = COALESCE(r.feed_id, ar.feed_id)
WHERE al.kind = 'changed';

-- Each feed with its polling state and the number of articles first found in it.
CREATE VIEW feed_health AS
SELECT f.id                   AS feed_id,
       f.name                 AS name,
       f.url                  AS url,
       f.active               AS active,
       f.last_polled_at       AS last_polled_at,
       f.last_success_at      AS last_success_at,
       f.consecutive_failures AS consecutive_failures,
       f.last_error           AS last_error,
       f.next_poll_at         AS next_poll_at,
       (SELECT COUNT(*) FROM articles a WHERE a.feed_id = f.id) AS articles
FROM feeds f;
