-- The SHA-256 of the last feed body that was parsed and stored, so that a server ignoring
-- validators (no ETag or Last-Modified, or a 200 to every conditional GET) and sending the
-- same bytes again costs a hash instead of a parse. Cleared with the validators when the topic
-- or a feed's filter changes, so that its items are judged again. NULL: never stored.
ALTER TABLE feeds ADD COLUMN body_hash TEXT;
