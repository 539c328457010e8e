//! Synthetic news for the benchmarks: deterministic RSS feeds of articles that read like wire
//! copy (titles, ledes, 300–900 words in paragraphs, links with tracking parameters, guids,
//! dates, a figure, a link and bold text in the markup), a third of them about North Korea and
//! Russia, and generations of edits (5% of items rewritten, 1% new). Shared by the pipeline
//! and stage benchmarks; it does no IO.
// Each benchmark uses part of this module.
#![allow(dead_code)]

use fastrand::Rng;

const SUBJECTS_ON: &[&str] = &[
    "North Korea and Russia",
    "Pyongyang and Moscow",
    "Kim Jong Un and Vladimir Putin",
    "Russia and North Korea",
];
const SUBJECTS_OFF: &[&str] = &[
    "Japan and Australia",
    "The European Union",
    "India and Brazil",
    "South Korea's central bank",
    "Canada and Mexico",
    "The World Health Organization",
    "Germany's coalition",
    "Indonesia and Vietnam",
];
const VERBS: &[&str] = &[
    "deepen",
    "sign",
    "expand",
    "review",
    "announce",
    "weigh",
    "discuss",
    "finalise",
    "postpone",
    "strengthen",
];
/// Objects and places of off-topic stories name neither North Korea nor Russia.
const OBJECTS_OFF: &[&str] = &[
    "a trade agreement",
    "new tariffs on steel",
    "a climate package",
    "a vaccine programme",
    "the budget",
    "a fisheries deal",
];
const PLACES_OFF: &[&str] = &["Geneva", "Nairobi", "Lima", "Oslo", "Manila"];
const OBJECTS: &[&str] = &[
    "economic ties",
    "a rail link across the Tumen river",
    "energy cooperation",
    "a labour agreement",
    "military exchanges",
    "grain shipments",
    "a tourism deal",
    "port access at Rajin",
    "a banking channel",
    "satellite cooperation",
];
const PLACES: &[&str] = &[
    "Vladivostok",
    "Seoul",
    "Tokyo",
    "Beijing",
    "Washington",
    "Brussels",
    "Khasan",
    "Jakarta",
];
const NAMES: &[&str] = &[
    "Anna Petrova",
    "Lee Min-jun",
    "David Clarke",
    "Sato Yuki",
    "Maria Gonzalez",
    "Park Ji-hoon",
    "Oleg Smirnov",
    "Fatima Rahman",
];
const WORDS: &[&str] = &[
    "officials",
    "said",
    "the",
    "agreement",
    "would",
    "allow",
    "trade",
    "to",
    "resume",
    "after",
    "years",
    "of",
    "sanctions",
    "analysts",
    "warned",
    "that",
    "shipments",
    "of",
    "coal",
    "and",
    "oil",
    "had",
    "increased",
    "sharply",
    "since",
    "last",
    "summer",
    "according",
    "to",
    "satellite",
    "imagery",
    "reviewed",
    "by",
    "researchers",
    "in",
    "ministry",
    "statement",
    "described",
    "talks",
    "as",
    "constructive",
    "but",
    "gave",
    "no",
    "details",
    "on",
    "timing",
    "delegation",
    "arrived",
    "on",
    "Tuesday",
    "for",
    "three",
    "days",
    "meetings",
    "with",
    "regional",
    "governors",
    "business",
    "leaders",
    "border",
    "crossing",
    "reopened",
    "freight",
    "volumes",
    "rose",
    "percent",
    "compared",
    "with",
    "previous",
    "year",
    "experts",
    "expect",
    "further",
    "steps",
    "before",
    "elections",
    "budget",
    "infrastructure",
    "investment",
    "workers",
    "factories",
    "exports",
    "imports",
    "currency",
    "payments",
    "bank",
    "loans",
    "ceremony",
    "officials",
    "declined",
    "comment",
    "spokesperson",
    "confirmed",
    "visit",
    "government",
    "security",
    "council",
    "resolution",
    "observers",
    "noted",
    "pressure",
    "growing",
    "amid",
];

/// One feed's items: `(sequence, revision)`, newest first, and a version that changes
/// whenever the feed's body does.
#[derive(Clone)]
pub struct FeedState {
    pub id: usize,
    pub version: u64,
    items: Vec<(u64, u32)>,
    next_seq: u64,
}

impl FeedState {
    pub fn new(id: usize, k: usize) -> FeedState {
        FeedState {
            id,
            version: 1,
            items: (0..k as u64).rev().map(|seq| (seq, 0)).collect(),
            next_seq: k as u64,
        }
    }

    /// One generation of edits: each item edited with probability 5%, and as many new
    /// items as 1% of the feed (in expectation) pushed on top, the oldest falling off.
    /// Returns whether the feed changed.
    pub fn edit(&mut self, generation: u64) -> bool {
        let mut rng = Rng::with_seed((self.id as u64) << 20 ^ generation);
        let mut changed = false;
        for item in &mut self.items {
            if rng.f64() < 0.05 {
                item.1 += 1;
                changed = true;
            }
        }
        let k = self.items.len();
        for _ in 0..k {
            if rng.f64() < 0.01 {
                self.items.insert(0, (self.next_seq, 0));
                self.items.truncate(k);
                self.next_seq += 1;
                changed = true;
            }
        }
        if changed {
            self.version += 1;
        }
        changed
    }

    pub fn render(&self) -> String {
        self.render_linked(None)
    }

    /// The revision of item `seq`, if the feed carries it.
    pub fn revision_of(&self, seq: u64) -> Option<u32> {
        self.items.iter().find(|i| i.0 == seq).map(|i| i.1)
    }

    /// The feed, its items linking to their pages under `pages` (`http://127.0.0.1:PORT`)
    /// when given, else to the publisher's made-up site.
    pub fn render_linked(&self, pages: Option<&str>) -> String {
        let host = format!("www.publisher{}.example", self.id % 997);
        let mut out = String::with_capacity(self.items.len() * 6000);
        out.push_str(&format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
             xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
             xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n\
             <title>Publisher {} – World</title>\n<link>https://{host}/world</link>\n\
             <description>World news from publisher {}</description>\n<language>en</language>\n\
             <lastBuildDate>{}</lastBuildDate>\n",
            self.id,
            self.id,
            http_date(self.version)
        ));
        for &(seq, revision) in &self.items {
            article(&mut out, &host, pages, self.id, seq, revision);
        }
        out.push_str("</channel>\n</rss>\n");
        out
    }
}

/// An RFC 2822 date that moves with `n`.
pub fn http_date(n: u64) -> String {
    let t = chrono::DateTime::from_timestamp(1_764_300_000 + 600 * n as i64, 0).unwrap_or_default();
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[rng.usize(..list.len())]
}

fn sentence(rng: &mut Rng, out: &mut Vec<String>) {
    let n = rng.usize(9..22);
    let mut words: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let w = match rng.u8(..20) {
            0 => pick(rng, PLACES_OFF).to_owned(),
            1 => format!("{}", rng.u32(2..900)),
            _ => pick(rng, WORDS).to_owned(),
        };
        words.push(if i == 0 { capitalise(&w) } else { w });
    }
    let mut s = words.join(" ");
    s.push('.');
    out.push(s);
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// One synthetic story: what its feed item and its page both say.
struct Story {
    id: u64,
    title: String,
    author: &'static str,
    paragraphs: Vec<Vec<String>>,
}

fn story(feed: usize, seq: u64, revision: u32) -> Story {
    let id = (feed as u64) << 24 | seq;
    let mut rng = Rng::with_seed(id);
    let on_topic = rng.u8(..3) == 0;
    let subject = pick(&mut rng, if on_topic { SUBJECTS_ON } else { SUBJECTS_OFF });
    let (objects, places) = if on_topic {
        (OBJECTS, PLACES)
    } else {
        (OBJECTS_OFF, PLACES_OFF)
    };
    let title = format!(
        "{subject} {} {} in {}",
        pick(&mut rng, VERBS),
        pick(&mut rng, objects),
        pick(&mut rng, places)
    );
    let words = rng.usize(300..900);
    let mut paragraphs: Vec<Vec<String>> = Vec::new();
    let mut count = 0;
    let lede = format!(
        "{subject} agreed to {} {} during talks in {}, {} reported.",
        pick(&mut rng, VERBS),
        pick(&mut rng, objects),
        pick(&mut rng, places),
        pick(&mut rng, NAMES)
    );
    count += lede.split(' ').count();
    paragraphs.push(vec![lede]);
    while count < words {
        let mut p = Vec::new();
        for _ in 0..rng.usize(2..5) {
            sentence(&mut rng, &mut p);
        }
        count += p.iter().map(|s| s.split(' ').count()).sum::<usize>();
        paragraphs.push(p);
    }
    // Each revision rewrites one sentence somewhere in the body, as a copy editor does.
    for r in 1..=revision {
        let mut edit = Rng::with_seed(id ^ (u64::from(r) << 48));
        let p = edit
            .usize(1..paragraphs.len().max(2))
            .min(paragraphs.len() - 1);
        let s = edit.usize(..paragraphs[p].len());
        let mut replacement = Vec::new();
        sentence(&mut edit, &mut replacement);
        paragraphs[p][s] = replacement.remove(0);
    }
    let author = pick(&mut rng, NAMES);
    Story {
        id,
        title,
        author,
        paragraphs,
    }
}

/// The body's paragraphs as HTML, with a link and bold text in them.
fn paragraphs_html(out: &mut String, story: &Story, host: &str, seq: u64) {
    for (i, p) in story.paragraphs.iter().enumerate() {
        out.push_str("<p>");
        for (j, s) in p.iter().enumerate() {
            if j > 0 {
                out.push(' ');
            }
            if i == 2 && j == 0 {
                out.push_str(&format!(
                    "<a href=\"https://{host}/topics/{}\">{s}</a>",
                    seq % 50
                ));
            } else if i == 3 && j == 0 {
                out.push_str(&format!("<strong>{s}</strong>"));
            } else {
                out.push_str(s);
            }
        }
        out.push_str("</p>\n");
    }
}

/// The path of a story's page on the benchmark's server: `/news/FEED/SEQ/slug`.
fn page_path(feed: usize, seq: u64, title: &str) -> String {
    let slug: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("/news/{feed}/{seq}/{slug}")
}

/// Reads `/news/FEED/SEQ/…` back.
pub fn parse_page_path(path: &str) -> Option<(usize, u64)> {
    let mut parts = path.strip_prefix("/news/")?.split('/');
    let feed = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    Some((feed, seq))
}

fn article(
    out: &mut String,
    host: &str,
    pages: Option<&str>,
    feed: usize,
    seq: u64,
    revision: u32,
) {
    let story = story(feed, seq, revision);
    let id = story.id;
    let link = match pages {
        Some(base) => format!(
            "{base}{}?utm_source=rss&amp;utm_medium=feed",
            page_path(feed, seq, &story.title)
        ),
        None => {
            let slug: String = story
                .title
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            format!(
                "https://{host}/2026/11/{:02}/{slug}-{seq}?utm_source=rss&amp;utm_medium=feed",
                1 + seq % 28
            )
        }
    };
    let author = story.author;
    out.push_str("<item>\n<title>");
    out.push_str(&story.title);
    out.push_str("</title>\n<link>");
    out.push_str(&link);
    out.push_str(&format!(
        "</link>\n<guid isPermaLink=\"false\">{host}-{id}</guid>\n<pubDate>{}</pubDate>\n\
         <dc:creator>{author}</dc:creator>\n<category>World</category>\n<description><![CDATA[",
        http_date(seq)
    ));
    out.push_str(&story.paragraphs[0][0]);
    out.push_str("]]></description>\n<content:encoded><![CDATA[");
    out.push_str(&format!(
        "<figure><img src=\"https://{host}/img/{id}.jpg\" alt=\"\" width=\"800\"/>\
         <figcaption>Photo: {author}</figcaption></figure>\n"
    ));
    paragraphs_html(out, &story, host, seq);
    out.push_str("]]></content:encoded>\n</item>\n");
}

/// The article page of story `seq` of feed `feed` at `revision`, as a news site serves it:
/// the story inside navigation, a byline, share links, a related-stories list with fresh
/// counters, a newsletter box and a footer, some 40 KiB as real pages are.
pub fn page(feed: usize, seq: u64, revision: u32, load: u64) -> String {
    let story = story(feed, seq, revision);
    let host = format!("www.publisher{}.example", feed % 997);
    let mut out = String::with_capacity(48 * 1024);
    out.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{} | Publisher {feed}</title>\
         <link rel=\"canonical\" href=\"https://{host}{}\">\
         <meta property=\"article:published_time\" content=\"2026-11-28T04:00:00Z\">\
         <style>{}</style><script>window.analytics = {{\"load\": {load}}};</script></head>\
         <body><header><nav><ul>",
        story.title,
        page_path(feed, seq, &story.title),
        "body{font:16px sans-serif}.nav a{margin:0 1em}".repeat(40)
    ));
    for section in [
        "World", "Politics", "Business", "Asia", "Europe", "Opinion", "Sport",
    ] {
        out.push_str(&format!("<li><a href=\"/{section}\">{section}</a></li>"));
    }
    out.push_str("</ul></nav></header>\n<main><article><h1>");
    out.push_str(&story.title);
    out.push_str(&format!(
        "</h1><p class=\"byline\">By {} · Updated {} minutes ago</p>\
         <div class=\"share\"><a href=\"#\">Share</a> <a href=\"#\">Tweet</a></div>\n",
        story.author,
        1 + load % 50
    ));
    paragraphs_html(&mut out, &story, &host, seq);
    out.push_str("</article>\n<aside class=\"related\"><h2>Most read</h2><ul>");
    for r in 0..8 {
        let other = self::story(feed, seq.wrapping_add(r + 1 + load % 5), 0);
        out.push_str(&format!(
            "<li><a href=\"/news/{feed}/{}/x\">{}</a> <span>{} views</span></li>",
            seq + r + 1,
            other.title,
            1000 + 37 * (load + r)
        ));
    }
    out.push_str(
        "</ul></aside><div class=\"newsletter\"><h3>Sign up for our newsletter</h3>\
         <form><input type=\"email\"><button>Subscribe</button></form></div></main>\n\
         <footer><p>© 2026 Publisher. All rights reserved.</p><ul>",
    );
    for link in [
        "About",
        "Contact",
        "Privacy",
        "Terms",
        "Careers",
        "Advertise",
    ] {
        out.push_str(&format!("<li><a href=\"/{link}\">{link}</a></li>"));
    }
    out.push_str("</ul></footer></body></html>\n");
    out
}
