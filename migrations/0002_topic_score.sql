-- Why a story was kept: the topic score (0.0-1.0, the lowest of the groups' scores) of the
-- latest text on the article, and the matched terms and score of each revision's own text.
-- NULL where no verdict was made (seeds, and rows written before this migration).
ALTER TABLE articles ADD COLUMN topic_score REAL;
ALTER TABLE revisions ADD COLUMN matched_terms TEXT;
ALTER TABLE revisions ADD COLUMN topic_score REAL;
