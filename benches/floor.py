"""The naive floor for the pipeline benchmark: the same passes as storywatch, done the short
obvious way with feedparser, sqlite3 and difflib, one feed after another.

Run by `benches/pipeline.rs` (BENCH_FLOOR), never alone: argv is the file of feed URLs (one a
line) and the database path; each line on stdin names a pass (cold, changed, 304, 200), and
after the pass one line goes to stdout: wall seconds, CPU seconds, peak RSS bytes, bytes of
text stored. What it does per feed: a conditional GET (If-None-Match / If-Modified-Since) with
urllib; on 200, feedparser; per entry, HTML stripped to text, a both-groups keyword check,
SHA-256 of title and body; a new relevant entry becomes an article and revision 1, a tracked
one whose hash changed gets a new revision and a difflib diff (unified, and word counts) in an
alert row. One transaction per feed. It does not normalize Unicode, canonicalize links,
schedule, or deliver alerts.
"""

import difflib
import hashlib
import html
import re
import resource
import sqlite3
import sys
import time
import urllib.error
import urllib.request

import feedparser

DPRK = re.compile(r"\b(North Korea|DPRK|Pyongyang|Kim Jong Un)\b", re.I)
RUSSIA = re.compile(r"\b(Russia|Moscow|Kremlin|Putin)\b", re.I)
TAG = re.compile(r"<[^>]+>")
BLOCK = re.compile(r"</?(p|div|br|li|h[1-6]|figure|figcaption|blockquote)\b[^>]*>", re.I)
SPACE = re.compile(r"[ \t\r\f\v]+")


def to_text(markup):
    text = BLOCK.sub("\n", markup)
    text = html.unescape(TAG.sub("", text))
    lines = (SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def open_db(path):
    db = sqlite3.connect(path)
    db.executescript(
        """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT);
        CREATE TABLE IF NOT EXISTS articles (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT);
        CREATE TABLE IF NOT EXISTS revisions (id INTEGER PRIMARY KEY, article_id INTEGER,
            number INTEGER, title TEXT, body TEXT, content_hash TEXT);
        CREATE INDEX IF NOT EXISTS revisions_article ON revisions(article_id, number);
        CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, kind TEXT, article_id INTEGER,
            revision_id INTEGER, diff TEXT, words_added INTEGER, words_removed INTEGER);
        """
    )
    return db


def poll(db, url):
    row = db.execute("SELECT etag, last_modified FROM feeds WHERE url = ?", (url,)).fetchone()
    request = urllib.request.Request(url)
    if row and row[0]:
        request.add_header("If-None-Match", row[0])
    if row and row[1]:
        request.add_header("If-Modified-Since", row[1])
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            etag = response.headers.get("ETag")
            modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return
        raise
    parsed = feedparser.parse(body)
    with db:
        db.execute(
            "INSERT OR REPLACE INTO feeds (url, etag, last_modified) VALUES (?, ?, ?)",
            (url, etag, modified),
        )
        for entry in parsed.entries:
            record(db, entry)


def record(db, entry):
    link = entry.get("link") or entry.get("id")
    title = to_text(entry.get("title", ""))
    if entry.get("content"):
        body = to_text(entry.content[0].value)
    else:
        body = to_text(entry.get("summary", ""))
    digest = hashlib.sha256((title + "\n\n" + body).encode()).hexdigest()
    row = db.execute("SELECT id FROM articles WHERE url = ?", (link,)).fetchone()
    if row is None:
        text = title + "\n" + body
        if not (DPRK.search(text) and RUSSIA.search(text)):
            return
        article = db.execute(
            "INSERT INTO articles (url, title) VALUES (?, ?)", (link, title)
        ).lastrowid
        revision = db.execute(
            "INSERT INTO revisions (article_id, number, title, body, content_hash)"
            " VALUES (?, 1, ?, ?, ?)",
            (article, title, body, digest),
        ).lastrowid
        db.execute(
            "INSERT INTO alerts (kind, article_id, revision_id) VALUES ('new', ?, ?)",
            (article, revision),
        )
        return
    article = row[0]
    number, old_title, old_body, old_hash = db.execute(
        "SELECT number, title, body, content_hash FROM revisions WHERE article_id = ?"
        " ORDER BY number DESC LIMIT 1",
        (article,),
    ).fetchone()
    if old_hash == digest:
        return
    old = (old_title + "\n\n" + old_body).split("\n")
    new = (title + "\n\n" + body).split("\n")
    unified = "\n".join(difflib.unified_diff(old, new, lineterm="", n=1))
    added = removed = 0
    matcher = difflib.SequenceMatcher(
        None, " ".join(old).split(), " ".join(new).split(), autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    revision = db.execute(
        "INSERT INTO revisions (article_id, number, title, body, content_hash)"
        " VALUES (?, ?, ?, ?, ?)",
        (article, number + 1, title, body, digest),
    ).lastrowid
    db.execute(
        "INSERT INTO alerts (kind, article_id, revision_id, diff, words_added, words_removed)"
        " VALUES ('changed', ?, ?, ?, ?, ?)",
        (article, revision, unified, added, removed),
    )


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    urls = [line.strip() for line in open(sys.argv[1]) if line.strip()]
    db = open_db(sys.argv[2])
    for command in sys.stdin:
        if not command.strip():
            continue
        wall, start = time.perf_counter(), cpu()
        for url in urls:
            poll(db, url)
        wall, used = time.perf_counter() - wall, cpu() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        text = db.execute(
            "SELECT COALESCE(SUM(LENGTH(CAST(title AS BLOB)) + LENGTH(CAST(body AS BLOB))), 0)"
            " FROM revisions"
        ).fetchone()[0]
        print(f"{wall:.3f} {used:.3f} {peak} {text}", flush=True)


if __name__ == "__main__":
    main()
