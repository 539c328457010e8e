//! robots.txt, as RFC 9309 says: which paths of a host storywatch may fetch.
//!
//! Takes the text of a host's `/robots.txt` and the product token storywatch identifies as
//! (`storywatch`); gives a verdict for each path. It follows the RFC:
//! - the rules of every group whose `user-agent` is the product token (case-insensitive) are
//!   combined; when none names it, the `*` groups' rules apply; with no group, everything is
//!   allowed;
//! - the rule with the longest pattern that matches the path wins, `allow` over `disallow`
//!   when they are as long; patterns take `*` (any run of characters) and a final `$` (the end
//!   of the path); an empty `disallow` allows everything;
//! - `/robots.txt` itself is always allowed; lines it does not know (`sitemap`,
//!   `crawl-delay`) and lines that are not `key: value` are ignored; only the first 500 KiB
//!   is read (§2.5).
//!
//! It does not fetch or cache (the page fetcher does, with the RFC's rules for a robots.txt
//! that is missing, 4xx: everything allowed, or unreachable, 5xx: nothing allowed).

/// How much of a robots.txt is read (RFC 9309 §2.5: at least 500 KiB).
pub const MAX_ROBOTS_LEN: usize = 500 * 1024;

/// One group of a robots.txt: the user agents it names and its `(allow, pattern)` rules.
#[derive(Default)]
struct Group {
    agents: Vec<String>,
    rules: Vec<(bool, String)>,
}

/// The rules that apply to storywatch on one host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Robots {
    /// `(allow, pattern)`, from the groups that apply.
    rules: Vec<(bool, String)>,
}

impl Robots {
    /// A host whose robots.txt allows everything (none, or a 4xx for it).
    pub fn allow_all() -> Robots {
        Robots::default()
    }

    /// A host whose robots.txt could not be fetched (a 5xx, no answer): nothing is allowed
    /// until it can be (RFC 9309 §2.3.1.4).
    pub fn disallow_all() -> Robots {
        Robots {
            rules: vec![(false, "/".to_owned())],
        }
    }

    /// The rules of `text` for the crawler whose product token is `token`.
    pub fn parse(text: &str, token: &str) -> Robots {
        let mut end = text.len().min(MAX_ROBOTS_LEN);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut in_agents = false;
        for line in text[..end].lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push(Group::default());
                        in_agents = true;
                    }
                    if let Some(group) = groups.last_mut() {
                        group.agents.push(value.to_ascii_lowercase());
                    }
                }
                kind @ ("allow" | "disallow") => {
                    in_agents = false;
                    if let Some(group) = groups.last_mut() {
                        // An empty disallow allows everything: it matches nothing.
                        if !value.is_empty() {
                            group.rules.push((kind == "allow", value.to_owned()));
                        }
                    }
                }
                _ => in_agents = false,
            }
        }
        let token = token.to_ascii_lowercase();
        let naming = |wanted: &str| {
            groups
                .iter()
                .filter(|g| g.agents.iter().any(|a| a == wanted))
                .flat_map(|g| g.rules.iter().cloned())
                .collect::<Vec<_>>()
        };
        let rules = if groups.iter().any(|g| g.agents.contains(&token)) {
            naming(&token)
        } else {
            naming("*")
        };
        Robots { rules }
    }

    /// Whether `url` may be fetched: its path and query are what the rules match.
    pub fn allows_url(&self, url: &url::Url) -> bool {
        match url.query() {
            Some(query) => self.allows(&format!("{}?{query}", url.path())),
            None => self.allows(url.path()),
        }
    }

    /// Whether `path` (the URL's path and query, from its `/`) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        if path == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if matches(pattern, path) {
                let len = pattern.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Whether a robots.txt pattern matches `path` from its start: `*` is any run of characters,
/// a final `$` anchors the end. Linear in practice: the greedy backtracking below retries only
/// from the last `*`.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let p = pattern.as_bytes();
    let s = path.as_bytes();
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi == p.len() {
            if !anchored || si == s.len() {
                return true;
            }
        } else if p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
            continue;
        } else if si < s.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
            continue;
        }
        // Mismatch (or an anchored pattern ended early): let the last `*` take one more byte.
        match star {
            Some((star_pi, star_si)) if star_si < s.len() => {
                star = Some((star_pi, star_si + 1));
                pi = star_pi + 1;
                si = star_si + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROBOTS: &str = "\
# A news site's robots.txt
User-agent: *
Disallow: /search
Disallow: /*?print=
Allow: /search/about$

User-agent: GPTBot
User-agent: storywatch
Disallow: /archive/
Allow: /archive/2026/

User-agent: other
Disallow: /
Sitemap: https://news.example.org/sitemap.xml
";

    #[test]
    fn the_group_naming_storywatch_applies_else_the_star_group() {
        let mine = Robots::parse(ROBOTS, "storywatch");
        let cases = [
            ("not_disallowed", "/2026/11/story", true),
            ("disallowed_prefix", "/archive/2019/story", false),
            ("longer_allow_wins", "/archive/2026/story", true),
            ("star_group_not_mine", "/search?q=kim", true),
            ("robots_itself", "/robots.txt", true),
        ];
        for (name, path, allowed) in cases {
            assert_eq!(mine.allows(path), allowed, "{name}");
        }
        let anyone = Robots::parse(ROBOTS, "somebot");
        let cases = [
            ("prefix", "/search?q=kim", false),
            ("wildcard", "/story?print=1", false),
            ("anchored_allow", "/search/about", true),
            (
                "anchored_allow_not_longer_path",
                "/search/about/more",
                false,
            ),
            ("elsewhere", "/story", true),
        ];
        for (name, path, allowed) in cases {
            assert_eq!(anyone.allows(path), allowed, "{name}");
        }
    }

    #[test]
    fn edge_cases_follow_the_rfc() {
        let cases = [
            ("no_groups", "", "/x", true),
            ("empty_disallow", "User-agent: *\nDisallow:\n", "/x", true),
            (
                "case_insensitive_agent",
                "User-agent: StoryWatch\nDisallow: /\n",
                "/x",
                false,
            ),
            (
                "comment_and_junk",
                "User-agent: * # all\nnonsense\nDisallow: /private # no\n",
                "/private/a",
                false,
            ),
            (
                "equal_length_allow_wins",
                "User-agent: *\nDisallow: /a\nAllow: /a\n",
                "/a",
                true,
            ),
            (
                "dollar_anchor",
                "User-agent: *\nDisallow: /*.pdf$\n",
                "/doc.pdf",
                false,
            ),
            (
                "dollar_anchor_miss",
                "User-agent: *\nDisallow: /*.pdf$\n",
                "/doc.pdf?x=1",
                true,
            ),
            (
                "star_in_middle",
                "User-agent: *\nDisallow: /a*b/c\n",
                "/axxbyb/c",
                false,
            ),
        ];
        for (name, text, path, allowed) in cases {
            assert_eq!(
                Robots::parse(text, "storywatch").allows(path),
                allowed,
                "{name}"
            );
        }
        assert!(!Robots::disallow_all().allows("/x"));
        assert!(Robots::disallow_all().allows("/robots.txt"));
        assert!(Robots::allow_all().allows("/x"));
        let url = |u: &str| url::Url::parse(u).expect("url");
        let query_rule = Robots::parse("User-agent: *\nDisallow: /*?print=\n", "storywatch");
        assert!(!query_rule.allows_url(&url("https://ex.org/story?print=1")));
        assert!(query_rule.allows_url(&url("https://ex.org/story")));
    }

    #[test]
    fn a_pattern_full_of_stars_stays_cheap() {
        let pattern = format!("/{}x", "*a".repeat(200));
        let path = format!("/{}", "a".repeat(20_000));
        assert!(!matches(&pattern, &path));
    }
}
