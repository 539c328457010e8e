//! `storywatch extract`: what storywatch would store of an article page, from a file, standard
//! input or a URL. A URL is fetched with the daemon's client and rules: its User-Agent,
//! timeouts and body limit (`[pages]`), and the host's robots.txt
//! (unless `[pages] robots = false`).

use std::io::Read as _;
use std::path::Path;

use url::Url;

use crate::config::Config;
use crate::extract::{Article, extract_article};
use crate::fetch::Fetched;
use crate::model::format_time;

/// Why `extract` printed no article.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{url}: {source}")]
    Extract {
        url: String,
        source: crate::extract::Error,
    },
    #[error("{0}: not an http(s) URL")]
    BadUrl(String),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::Error),
    #[error("{url}: the host's robots.txt does not allow {token} to fetch it")]
    Robots { url: String, token: String },
    #[error(transparent)]
    Runtime(#[from] std::io::Error),
}

/// Where the page comes from.
pub enum Source<'a> {
    /// A file, or `-` for standard input.
    Local(&'a str),
    /// An http(s) URL, fetched.
    Remote(Url),
}

impl<'a> Source<'a> {
    /// `-`, a path or an http(s) URL; none is standard input.
    pub fn parse(arg: Option<&'a str>) -> Source<'a> {
        match arg.map(|a| (a, Url::parse(a))) {
            Some((_, Ok(url))) if matches!(url.scheme(), "http" | "https") => Source::Remote(url),
            Some((arg, _)) => Source::Local(arg),
            None => Source::Local("-"),
        }
    }
}

/// Reads and extracts a local page; `page_url` is the URL it was served from, if known.
pub fn extract_local(path: &str, page_url: Option<&str>) -> Result<Article, Error> {
    let url = page_url
        .map(|u| Url::parse(u).map_err(|_| Error::BadUrl(u.to_owned())))
        .transpose()?;
    let body = if path == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|source| Error::Read {
                path: "standard input".into(),
                source,
            })?;
        body
    } else {
        std::fs::read(Path::new(path)).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?
    };
    extract_article(&body, None, url.as_ref()).map_err(|source| Error::Extract {
        url: page_url.unwrap_or(path).to_owned(),
        source,
    })
}

/// Fetches a page as the daemon would, robots.txt first, and extracts it.
pub fn extract_remote(config: &Config, url: &Url) -> Result<Article, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let fetcher = crate::daemon::fetcher(config)?;
        if config.pages.robots && !fetcher.robots(url).await.allows_url(url) {
            return Err(Error::Robots {
                url: url.to_string(),
                token: fetcher.product_token(),
            });
        }
        let fetched = fetcher
            .fetch_page(
                url,
                &Default::default(),
                config.pages.max_body,
                config.pages.timeout,
            )
            .await?;
        let Fetched::Body {
            body,
            charset,
            url: answered,
            ..
        } = fetched
        else {
            // Nothing was sent to make the answer conditional.
            return Err(Error::Extract {
                url: url.to_string(),
                source: crate::extract::Error::NoArticle("304 Not Modified".into()),
            });
        };
        extract_article(&body, charset.as_deref(), Some(&answered)).map_err(|source| {
            Error::Extract {
                url: answered.to_string(),
                source,
            }
        })
    })
}

/// The article as `extract` prints it: a few labelled lines, then the text, paragraphs
/// apart; or JSON.
pub fn render(article: &Article, json: bool) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(format_time);
    if json {
        let value = serde_json::json!({
            "title": article.title,
            "text": article.paragraphs.join("\n\n"),
            "canonical_url": article.canonical_url,
            "published_at": time(article.published_at),
            "modified_at": time(article.modified_at),
        });
        return format!("{value}\n");
    }
    let mut out = String::new();
    let mut line = |label: &str, value: Option<&str>| {
        if let Some(value) = value {
            out.push_str(&format!("{label:<10} {value}\n"));
        }
    };
    line("title", Some(&article.title));
    line("canonical", article.canonical_url.as_deref());
    line("published", time(article.published_at).as_deref());
    line("modified", time(article.modified_at).as_deref());
    out.push('\n');
    out.push_str(&article.paragraphs.join("\n\n"));
    out.push('\n');
    out
}
