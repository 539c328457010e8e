//! Article pages through the real daemon: a feed on loopback links its stories to pages on
//! the same server (real pages of Mozilla Readability's test suite, `../shared/corpora/`),
//! and each tracked story's page is fetched, extracted, stored as a `page` revision, compared
//! with the page's earlier text, and alerted on when it is edited or gone.

use std::time::Duration;

use crate::server::Reply;
use crate::{Env, Feed, text, wait_for};

/// A real news article page: The New York Times on lifting the Sudan sanctions.
fn nytimes() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpora/pages-readability/nytimes-1/source.html"
    ))
    .expect("the shared page corpus")
}

/// The first words of the article's body, and words further in that an edit changes.
const LEDE: &str = "After nearly 20 years of hostile relations";
const FACT: &str = "Sudan had already shown important progress on a number of these fronts.";

/// The page as it looks on its `n`th load: what changes on every load of a real page (the
/// "updated N minutes ago" line, view and comment counters, a related-stories list, a token
/// in a script, attributes and whitespace) changes; the article does not.
fn load(page: &str, n: usize) -> String {
    let related = [
        "Kim Jong Un visits Vladivostok",
        "Rail link to Rason reopens",
        "Lavrov lands in Pyongyang",
    ];
    let meta = format!(
        "<div class=\"story-meta\"><span class=\"updated\">Updated {} minutes ago</span> \
         · <span class=\"views\">{} views</span> · <a href=\"#comments\">{} comments</a></div>\n",
        n + 2,
        1_000 + 37 * n,
        3 * n
    );
    let aside = format!(
        "<aside class=\"related\"><h2>Most read</h2><ul><li><a href=\"/r/{n}\">{}</a></li>\
         <li><a href=\"/r/{}\">{}</a></li></ul></aside>\
         <script>window.csrf = \"t{n}x\"; var nonce = {n};</script></body>",
        related[n % 3],
        n + 1,
        related[(n + 1) % 3]
    );
    let spacing = if n % 2 == 0 {
        "of hostile relations"
    } else {
        "of  hostile\n   relations"
    };
    page.replacen(
        "<p class=\"story-body-text story-content\" data-para-count=\"194\"",
        &format!(
            "{meta}<p class=\"story-body-text story-content\" data-para-count=\"{}\"",
            194 + n
        ),
        1,
    )
    .replacen("</body>", &aside, 1)
    .replacen("of hostile relations", spacing, 1)
}

fn html(body: impl Into<Vec<u8>>) -> Reply {
    Reply::Raw {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: body.into(),
    }
}

/// An RSS feed of stories, each `(title, path of its page)`.
fn rss(env: &Env, stories: &[(&str, &str)]) -> String {
    let items: String = stories
        .iter()
        .map(|(title, path)| {
            format!(
                "<item><title>{title}</title><link>{}</link>\
                 <description>{title}: the story so far.</description></item>",
                env.server.url(path)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>{items}</channel></rss>"
    )
}

const STORY: &str = "North Korea and Russia sign a trade deal";

/// An installation whose one unfiltered feed links `stories` to pages, with `[pages]` as given.
fn setup(stories: &[(&str, &str)], pages: &str) -> Env {
    let env = Env::start();
    env.server.feed("/feed.xml", rss(&env, stories));
    env.server.set(
        "/robots.txt",
        Reply::Status {
            status: 404,
            body: Vec::new(),
        },
    );
    env.write_config(
        &[Feed {
            name: "Wire",
            path: "/feed.xml",
            filter: "none",
        }],
        &format!("\n[pages]\n{pages}\n"),
    );
    env
}

/// `n` stories, their pages at `PREFIX/0`, `PREFIX/1`, …
fn numbered(n: usize, prefix: &str) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("{STORY}, part {i}"), format!("{prefix}/{i}")))
        .collect()
}

fn as_refs(stories: &[(String, String)]) -> Vec<(&str, &str)> {
    stories
        .iter()
        .map(|(t, p)| (t.as_str(), p.as_str()))
        .collect()
}

fn page_revisions(env: &Env) -> i64 {
    env.count("SELECT COUNT(*) FROM revisions WHERE body_kind = 'page'")
}

fn alerts(env: &Env, kind: &str) -> Vec<serde_json::Value> {
    env.alert_log()
        .into_iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

#[test]
fn a_tracked_storys_page_is_stored_as_a_page_revision_and_its_edits_alert() {
    let env = setup(&[(STORY, "/news/sudan")], "");
    let page = nytimes();
    env.server.set("/news/sudan", html(load(&page, 0)));
    let out = env.poll();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("checked 1 pages: 0 changed, 0 removed, 0 failed"),
        "{stdout}"
    );

    let (title, body, number): (String, String, i64) = env
        .db()
        .query_row(
            "SELECT title, body, number FROM revisions WHERE body_kind = 'page'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("a page revision");
    assert_eq!(number, 2, "after the feed's own revision");
    assert_eq!(title, "United States to Lift Sudan Sanctions");
    assert!(body.contains(LEDE) && body.contains(FACT), "{body}");
    for furniture in ["minutes ago", "views", "Most read", "csrf"] {
        assert!(!body.contains(furniture), "{furniture:?} in {body}");
    }
    assert_eq!(alerts(&env, "new").len(), 1);
    assert!(
        alerts(&env, "changed").is_empty(),
        "the first page text is a baseline"
    );

    // Loaded again and again with its furniture rotated: no new revision, no alert.
    for n in 1..4 {
        env.server.set("/news/sudan", html(load(&page, n)));
        env.poll();
    }
    assert_eq!(page_revisions(&env), 1, "furniture made a revision");
    assert!(alerts(&env, "changed").is_empty());

    // A silent edit of one sentence of the article.
    let edited = page.replacen(FACT, "Sudan had shown little progress on these fronts.", 1);
    env.server.set("/news/sudan", html(load(&edited, 4)));
    env.poll();
    assert_eq!(page_revisions(&env), 2);
    let changed = alerts(&env, "changed");
    assert_eq!(changed.len(), 1, "{changed:?}");
    let alert = &changed[0];
    assert_eq!(alert["body_kind"], "page");
    assert_eq!(alert["previous_revision"], 2);
    assert_eq!(alert["revision"], 3);
    let unified = alert["diff"]["unified"].as_str().expect("diff");
    assert!(unified.contains("little"), "{unified}");
    assert!(alert["diff"]["words_removed"].as_i64() > Some(0));

    // The schedule restarted at its first step when the text changed.
    let (from, next, last): (String, String, String) = env
        .db()
        .query_row(
            "SELECT schedule_from, next_check_at, last_checked_at FROM pages",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("page row");
    assert_eq!(from, last, "schedule restarted at the change");
    let minutes = |a: &str, b: &str| {
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).expect("time");
        (t(b) - t(a)).num_minutes()
    };
    assert_eq!(minutes(&from, &next), 15, "the first step of the schedule");

    // history, articles, diff and report show the page revisions with their kind.
    let shown = |args: &[&str]| {
        let out = env.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let history = shown(&["history", "2"]);
    assert!(history.contains("first page text"), "{history}");
    let articles = shown(&["articles"]);
    assert!(
        articles.contains("KIND") && articles.contains(" page "),
        "{articles}"
    );
    let diff = shown(&["diff", "2"]);
    assert!(diff.contains("page") && diff.contains("little"), "{diff}");
    let report = shown(&["report", "2"]);
    assert!(report.contains("page text"), "{report}");
}

#[test]
fn a_page_gone_twice_raises_one_removed_alert_and_its_return_is_compared_with_its_last_text() {
    let env = setup(&[(STORY, "/news/sudan")], "");
    let page = nytimes();
    env.server.set("/news/sudan", html(load(&page, 0)));
    env.poll();
    assert_eq!(page_revisions(&env), 1);

    env.server.set(
        "/news/sudan",
        Reply::Status {
            status: 404,
            body: b"not here".to_vec(),
        },
    );
    env.poll();
    assert!(
        alerts(&env, "removed").is_empty(),
        "one 404 is not a removal"
    );
    env.poll();
    let removed = alerts(&env, "removed");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["body_kind"], "page");
    assert_eq!(removed[0]["revision"], 2, "the last text of the page");
    assert!(
        removed[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("404")),
        "{removed:?}"
    );
    env.server.set(
        "/news/sudan",
        Reply::Status {
            status: 410,
            body: Vec::new(),
        },
    );
    env.poll();
    assert_eq!(alerts(&env, "removed").len(), 1, "raised once");

    // Back as it was: compared with the text before the removal, so nothing changed.
    env.server.set("/news/sudan", html(load(&page, 1)));
    env.poll();
    assert_eq!(page_revisions(&env), 1);
    assert!(alerts(&env, "changed").is_empty());
    let removed_at: Option<String> = env
        .db()
        .query_row("SELECT removed_at FROM pages", [], |r| r.get(0))
        .expect("page row");
    assert_eq!(removed_at, None, "back again");

    // Gone again, then back edited: a second removal, then the edit against the old text.
    env.server.set(
        "/news/sudan",
        Reply::Status {
            status: 404,
            body: Vec::new(),
        },
    );
    env.poll();
    env.poll();
    assert_eq!(alerts(&env, "removed").len(), 2);
    let edited = page.replacen(FACT, "Sudan had made no progress.", 1);
    env.server.set("/news/sudan", html(load(&edited, 2)));
    env.poll();
    let changed = alerts(&env, "changed");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["previous_revision"], 2);
}

#[test]
fn a_redirect_to_the_front_page_is_a_removal_and_an_item_leaving_the_feed_is_not() {
    let env = setup(
        &[(STORY, "/news/sudan"), ("Second story", "/news/other")],
        "",
    );
    let page = nytimes();
    env.server.set("/news/sudan", html(load(&page, 0)));
    env.server.set("/news/other", html(load(&page, 1)));
    env.server
        .set("/", html("<html><body><h1>Front page</h1></body></html>"));
    env.poll();
    assert_eq!(page_revisions(&env), 2);

    env.server.set(
        "/news/sudan",
        Reply::Redirect {
            status: 301,
            location: env.server.url("/"),
        },
    );
    // The second story rolls off the feed; its page stays.
    env.server
        .feed("/feed.xml", rss(&env, &[(STORY, "/news/sudan")]));
    env.poll();
    let removed = alerts(&env, "removed");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(
        removed[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("front page")),
        "{removed:?}"
    );
    assert_eq!(
        removed[0]["article"]["title"],
        "United States to Lift Sudan Sanctions"
    );
    env.poll();
    assert_eq!(alerts(&env, "removed").len(), 1, "raised once");
}

#[test]
fn robots_txt_is_honoured_and_one_failing_page_harms_no_other() {
    let env = setup(
        &[
            (STORY, "/news/sudan"),
            ("Second story", "/private/other"),
            ("Third story", "/news/broken"),
        ],
        "keep_html = true",
    );
    let page = nytimes();
    env.server.set(
        "/robots.txt",
        Reply::Raw {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: b"User-agent: *\nDisallow: /private/\n".to_vec(),
        },
    );
    env.server.set("/news/sudan", html(load(&page, 0)));
    env.server.set("/private/other", html(load(&page, 1)));
    env.server.set(
        "/news/broken",
        Reply::Status {
            status: 500,
            body: Vec::new(),
        },
    );
    let out = env.poll();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("checked 3 pages: 0 changed, 0 removed, 1 failed"),
        "{}",
        text(&out)
    );
    assert!(
        env.server.seen("/private/other").is_empty(),
        "robots.txt disallows it"
    );
    assert_eq!(
        env.server.seen("/robots.txt").len(),
        1,
        "cached for the host"
    );
    assert_eq!(page_revisions(&env), 1);
    let errors: Vec<(String, Option<String>, i64)> = {
        let db = env.db();
        let mut stmt = db
            .prepare("SELECT url, last_error, consecutive_failures FROM pages ORDER BY article_id")
            .expect("query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(errors[0].1, None);
    assert!(
        errors[1]
            .1
            .as_deref()
            .is_some_and(|e| e.contains("robots.txt")),
        "{errors:?}"
    );
    assert_eq!(errors[1].2, 0, "a refusal is not a failure");
    assert!(
        errors[2].1.as_deref().is_some_and(|e| e.contains("500")),
        "{errors:?}"
    );
    assert_eq!(errors[2].2, 1);

    // keep_html: the page as served, compressed.
    let html_gzip: Vec<u8> = env
        .db()
        .query_row("SELECT html_gzip FROM page_html", [], |r| r.get(0))
        .expect("kept html");
    let mut served = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&html_gzip[..]),
        &mut served,
    )
    .expect("gzip");
    assert_eq!(served, load(&page, 0));

    // `pages` lists the failing page and the refused one.
    let listed = env.run(&["pages", "--failing"]);
    let shown = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        shown.contains("/news/broken") && shown.contains("HTTP 500"),
        "{shown}"
    );
    assert!(!shown.contains("/news/sudan"), "{shown}");
}

#[test]
fn hostile_pages_fail_alone_and_bounded() {
    let env = setup(
        &[
            (STORY, "/news/sudan"),
            ("Bomb", "/news/bomb"),
            ("Deep", "/news/deep"),
            ("Drip", "/news/drip"),
        ],
        "timeout = \"3s\"\nmax_body = \"2MiB\"",
    );
    env.server.set("/news/sudan", html(load(&nytimes(), 0)));
    env.server.set(
        "/news/bomb",
        Reply::Gzip {
            compressed: crate::server::gzip_bomb(64 * 1024 * 1024),
        },
    );
    env.server
        .set("/news/deep", html("<div>".repeat(100_000) + "deep"));
    env.server.set("/news/drip", Reply::Drip);
    let started = std::time::Instant::now();
    env.poll();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(page_revisions(&env), 1, "the good page is stored");
    let failing = env.count("SELECT COUNT(*) FROM pages WHERE consecutive_failures = 1");
    assert_eq!(failing, 3);
    let errors: String = env
        .db()
        .query_row(
            "SELECT group_concat(last_error, ' | ') FROM pages",
            [],
            |r| r.get(0),
        )
        .expect("errors");
    for reason in ["pages.max_body", "deeper than", "timed out"] {
        assert!(errors.contains(reason), "{reason:?} not in {errors}");
    }
}

#[test]
fn a_sigkill_during_page_checks_loses_and_duplicates_nothing() {
    let stories = numbered(12, "/news");
    let refs = as_refs(&stories);
    let env = setup(&refs, "concurrency = 2");
    let page = nytimes();
    for (i, (_, path)) in stories.iter().enumerate() {
        let body = load(&page, i).replacen(FACT, &format!("Fact number {i} of the story."), 1);
        env.server.set(
            path,
            Reply::Slow {
                body: body.into_bytes(),
                delay: Duration::from_millis(300),
            },
        );
    }
    assert!(env.run(&["migrate"]).status.success());
    let daemon = env.spawn_run();
    assert!(
        wait_for(Duration::from_secs(60), || page_revisions(&env) >= 3),
        "no page checked"
    );
    daemon.kill();
    let before = page_revisions(&env);
    assert!(before < 12, "killed too late to mean anything");

    let daemon = env.spawn_run();
    assert!(
        wait_for(Duration::from_secs(90), || page_revisions(&env) == 12),
        "pages left unchecked after the restart: {}",
        page_revisions(&env)
    );
    daemon.stop(Duration::from_secs(10));
    let duplicates = env.count(
        "SELECT COUNT(*) FROM (SELECT article_id FROM revisions WHERE body_kind = 'page'
         GROUP BY article_id HAVING COUNT(*) > 1)",
    );
    assert_eq!(duplicates, 0);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM pages WHERE last_success_at IS NULL"),
        0
    );
    assert_eq!(alerts(&env, "new").len(), 12);
    assert!(alerts(&env, "changed").is_empty());
}

#[test]
fn a_host_that_fails_every_page_is_backed_off_not_hammered() {
    let stories = numbered(8, "/down");
    let refs = as_refs(&stories);
    let env = setup(&refs, "");
    for (_, path) in &stories {
        env.server.set(
            path,
            Reply::Status {
                status: 503,
                body: Vec::new(),
            },
        );
    }
    env.poll();
    let fetched: usize = stories
        .iter()
        .map(|(_, path)| env.server.seen(path).len())
        .sum();
    assert_eq!(fetched, 3, "the host was asked for page after page");
    // Every page waits: none is due again before the backoff.
    let soonest: String = env
        .db()
        .query_row("SELECT MIN(next_check_at) FROM pages", [], |r| r.get(0))
        .expect("schedule");
    let soonest = chrono::DateTime::parse_from_rfc3339(&soonest).expect("time");
    assert!(
        soonest > chrono::Utc::now() + chrono::TimeDelta::minutes(10),
        "{soonest}"
    );
    // The feed on the same host is polled as usual.
    env.poll();
    assert_eq!(env.server.seen("/feed.xml").len(), 2);
}

/// A Korean and a Russian article page in the legacy encodings their publishers still use.
fn legacy_pages() -> [(&'static str, &'static str, Vec<u8>, &'static str); 2] {
    let korean = "<html><head><title>북러 교역 확대</title></head><body>\
        <nav><a href='/'>홈</a> <a href='/politics'>정치</a> <a href='/nk'>북한</a></nav>\
        <article><h1>북한과 러시아, 두만강 자동차 다리 착공</h1>\
        <p>북한과 러시아가 두만강을 가로지르는 자동차 다리 건설에 착공했다고 조선중앙통신이 1일 보도했다. \
        양국은 다리가 완공되면 물류와 관광 교류가 크게 늘어날 것으로 기대하고 있다.</p>\
        <p>러시아 측 관계자는 이번 사업이 양국 정상이 체결한 포괄적 전략 동반자 조약의 구체적인 성과라고 평가했다. \
        다리는 길이 1킬로미터로 내년 말 완공될 예정이다.</p>\
        <p>전문가들은 다리 개통으로 대북 제재 회피가 쉬워질 수 있다고 우려하고 있다. \
        한국 정부는 관련 동향을 면밀히 주시하고 있다고 밝혔다.</p></article>\
        <aside><h2>많이 본 뉴스</h2><ul><li><a href='/a'>다른 기사</a></li></ul></aside></body></html>";
    let russian = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">\
        <title>Россия и КНДР</title></head><body>\
        <nav><a href='/'>Главная</a> <a href='/world'>В мире</a></nav>\
        <article><h1>Россия и КНДР начали строительство автомобильного моста</h1>\
        <p>Россия и КНДР приступили к строительству автомобильного моста через реку Туманная, \
        сообщило в понедельник Министерство транспорта. Мост свяжет Приморский край с северокорейским городом Расон.</p>\
        <p>По словам представителей российской стороны, проект стал практическим итогом договора о всеобъемлющем \
        стратегическом партнёрстве, подписанного лидерами двух стран. Длина моста составит около километра.</p>\
        <p>Эксперты полагают, что открытие моста облегчит торговлю и туристические поездки между странами. \
        Завершить строительство планируется в конце следующего года.</p></article>\
        <aside><h2>Читайте также</h2><ul><li><a href='/b'>Другая новость</a></li></ul></aside></body></html>";
    let (euc_kr, _, _) = encoding_rs::EUC_KR.encode(korean);
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(russian);
    [
        (
            "/ko/bridge",
            "text/html; charset=EUC-KR",
            euc_kr.into_owned(),
            "두만강을 가로지르는 자동차 다리",
        ),
        (
            "/ru/bridge",
            "text/html",
            cp1251.into_owned(),
            "строительству автомобильного моста через реку Туманная",
        ),
    ]
}

#[test]
fn korean_and_russian_pages_in_legacy_encodings_are_stored_as_unicode() {
    let env = setup(&[(STORY, "/ko/bridge"), ("Второй сюжет", "/ru/bridge")], "");
    let pages = legacy_pages();
    for (path, content_type, body, _) in &pages {
        env.server.set(
            path,
            Reply::Raw {
                status: 200,
                headers: vec![("Content-Type".into(), (*content_type).into())],
                body: body.clone(),
            },
        );
    }
    env.poll();
    for (path, _, _, expected) in &pages {
        let body: String = env
            .db()
            .query_row(
                "SELECT r.body FROM revisions r JOIN pages p ON p.article_id = r.article_id
                 WHERE r.body_kind = 'page' AND p.url LIKE '%' || ?1",
                [path],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(body.contains(expected), "{path}: {body}");
        for furniture in ["많이 본 뉴스", "Читайте также", "Главная"] {
            assert!(!body.contains(furniture), "{path}: {furniture:?} in {body}");
        }
    }
}

#[test]
fn page_checks_never_hold_up_the_feeds() {
    let stories = numbered(6, "/slow");
    let refs = as_refs(&stories);
    let env = setup(&refs, "timeout = \"20s\"");
    env.edit_config("interval = \"1h\"", "interval = \"1s\"");
    for (_, path) in &stories {
        env.server.set(path, Reply::Hang);
    }
    assert!(env.run(&["migrate"]).status.success());
    let daemon = env.spawn_run();
    // The pages hang for their whole timeout; the feed is polled every second meanwhile.
    assert!(
        wait_for(Duration::from_secs(15), || env
            .server
            .seen("/feed.xml")
            .len()
            >= 4),
        "feed polled {} times while pages hung",
        env.server.seen("/feed.xml").len()
    );
    let asked: usize = stories.iter().map(|(_, p)| env.server.seen(p).len()).sum();
    assert!(asked >= 1, "no page was asked for");
    daemon.stop(Duration::from_secs(15));
}

#[test]
fn a_page_is_asked_for_conditionally_with_its_own_validators() {
    let env = setup(&[(STORY, "/news/sudan")], "");
    let page = Reply::Feed {
        body: load(&nytimes(), 0).into_bytes(),
        content_type: "text/html; charset=utf-8".into(),
    };
    env.server.set("/news/sudan", page);
    env.poll();
    env.poll();
    let seen = env.server.seen("/news/sudan");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].headers.get("if-none-match"), None);
    assert!(
        seen[0]
            .headers
            .get("accept")
            .is_some_and(|a| a.starts_with("text/html"))
    );
    assert_eq!(
        seen[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    assert_eq!(page_revisions(&env), 1);
    let status: i64 = env
        .db()
        .query_row("SELECT last_status FROM pages", [], |r| r.get(0))
        .expect("page row");
    assert_eq!(status, 304);
}

#[test]
fn pages_queued_for_one_host_leave_the_budget_to_other_hosts() {
    let env = Env::start();
    let slow: Vec<String> = (0..5).map(|i| format!("/slow/{i}")).collect();
    let mut items: Vec<(String, String)> = slow
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{STORY}, part {i}"), env.server.url(p)))
        .collect();
    // The same server under another host name: another publisher to the daemon.
    let other = env.server.url("/other/1").replace("127.0.0.1", "localhost");
    items.push((format!("{STORY}, elsewhere"), other));
    let feed_items: String = items
        .iter()
        .map(|(title, link)| format!("<item><title>{title}</title><link>{link}</link></item>"))
        .collect();
    env.server.feed(
        "/feed.xml",
        format!("<rss version=\"2.0\"><channel><title>Wire</title>{feed_items}</channel></rss>"),
    );
    env.server.set(
        "/robots.txt",
        Reply::Status {
            status: 404,
            body: Vec::new(),
        },
    );
    let page = load(&nytimes(), 0).into_bytes();
    for path in &slow {
        env.server.set(
            path,
            Reply::Slow {
                body: page.clone(),
                delay: Duration::from_millis(600),
            },
        );
    }
    env.server.set("/other/1", html(page));
    env.write_config(
        &[Feed {
            name: "Wire",
            path: "/feed.xml",
            filter: "none",
        }],
        "\n[pages]\nconcurrency = 2\n",
    );
    env.poll();
    assert_eq!(page_revisions(&env), 6);
    let other_at = env.server.seen("/other/1")[0].at;
    let last_slow = slow
        .iter()
        .filter_map(|p| env.server.seen(p).first().map(|s| s.at))
        .max()
        .expect("slow pages fetched");
    assert!(
        other_at < last_slow,
        "the other host's page waited for the first host's queue"
    );
}

#[test]
fn a_feed_with_pages_off_is_set_aside_and_its_stories_are_watched_once_it_is_on() {
    let env = setup(&[(STORY, "/news/sudan")], "");
    env.edit_config("filter = \"none\"", "filter = \"none\"\npages = false");
    env.server.set("/news/sudan", html(load(&nytimes(), 0)));
    env.poll();
    assert!(env.server.seen("/news/sudan").is_empty(), "pages = false");
    assert_eq!(env.count("SELECT COUNT(*) FROM pages"), 0);

    env.edit_config("pages = false", "pages = true");
    env.poll();
    assert_eq!(env.server.seen("/news/sudan").len(), 1);
    assert_eq!(page_revisions(&env), 1);
    let (from, first_seen): (String, String) = env
        .db()
        .query_row(
            "SELECT p.schedule_from, a.first_seen_at FROM pages p JOIN articles a ON a.id = p.article_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("page row");
    assert_eq!(
        from, first_seen,
        "its schedule counts from when it was first seen"
    );

    // Off again: the page is set aside, its schedule kept, and not fetched.
    env.edit_config("pages = true", "pages = false");
    env.poll();
    assert_eq!(env.server.seen("/news/sudan").len(), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM pages WHERE active = 0"), 1);
}
