//! `url_filter`: DataTrove's `URLFilter`, with tldextract's domain split.

use crate::simple::filter_stage;
use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use trove_core::domain::{lenient_netloc, SuffixTrie};
use trove_core::{BuildContext, Document, Error, Filter, Result, Stage, StepConfig, StepSpec, Verdict};

fn two() -> usize {
    2
}

fn yes() -> bool {
    true
}

/// `url_filter`: drops documents whose `url` metadata is on a block list (DataTrove's `URLFilter`):
/// its registered domain (`domain`) or full host (`subdomain`) is a blocked domain, the URL is a
/// blocked URL (`url`), a word of it is a banned word (`hard_blacklisted`), it has
/// `soft_word_threshold` soft-banned words (`soft_blacklisted`), or its normalized form contains a
/// banned subword (`blacklisted_subword`).
///
/// With `use_integrated_lists`, DataTrove's word lists (bundled) and the UT1 domain and URL lists are
/// used; the UT1 lists are the `domains` and `urls` files of `integrated_lists_folder` (trove-only;
/// default: the `url_filter` folder of `$TROVE_ASSETS`, which `cargo xtask fixtures` fills from
/// DataTrove's package).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlFilterConfig {
    /// Soft-banned words needed to drop a URL.
    #[serde(default = "two")]
    pub soft_word_threshold: usize,
    /// More blocked domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_domains: Option<Vec<String>>,
    /// More blocked URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_urls: Option<Vec<String>>,
    /// More banned words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned_words: Option<Vec<String>>,
    /// More banned subwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned_subwords: Option<Vec<String>>,
    /// More soft-banned words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_banned_words: Option<Vec<String>>,
    /// Adds DataTrove's lists.
    #[serde(default = "yes")]
    pub use_integrated_lists: bool,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// Folder with the UT1 `domains` and `urls` files (trove-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrated_lists_folder: Option<String>,
}

impl StepConfig for UrlFilterConfig {
    const TYPE: &'static str = "url_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        filter_stage("😈 Url-filter", UrlFilter::new(self)?, self.exclusion_writer.as_ref(), cx)
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// DataTrove's URL normalization: runs of characters other than ASCII letters and digits removed,
/// lowercased.
fn normalize(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// DataTrove's `parse_list`: skips lines starting with `#`, normalizes words (or strips domains).
fn parse_list<'a>(lines: impl IntoIterator<Item = &'a str>, do_normalize: bool) -> HashSet<String> {
    lines
        .into_iter()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| if do_normalize { normalize(l) } else { l.trim().to_string() })
        .collect()
}

/// A large set of strings packed into one buffer (the UT1 list has 4.5 M domains): sorted, looked up
/// by binary search, about a third of the memory of a `HashSet<String>`.
#[derive(Default)]
struct PackedSet {
    bytes: String,
    ends: Vec<usize>,
}

impl PackedSet {
    fn new(items: HashSet<String>) -> PackedSet {
        let mut items: Vec<String> = items.into_iter().collect();
        items.sort_unstable();
        let mut set = PackedSet::default();
        set.bytes.reserve(items.iter().map(String::len).sum());
        for item in items {
            set.bytes.push_str(&item);
            set.ends.push(set.bytes.len());
        }
        set
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn contains(&self, item: &str) -> bool {
        let (mut lo, mut hi) = (0, self.ends.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(item) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

/// The lists of one configuration, loaded once per process and shared by its tasks.
struct Lists {
    domains: PackedSet,
    urls: PackedSet,
    banned_words: HashSet<String>,
    soft_banned_words: HashSet<String>,
    subwords: Option<AhoCorasick>,
    soft_word_threshold: usize,
    suffixes: &'static SuffixTrie,
}

impl Lists {
    fn shared(config: &UrlFilterConfig) -> Result<Arc<Lists>> {
        static CACHE: OnceLock<Mutex<HashMap<String, Arc<Lists>>>> = OnceLock::new();
        let key = serde_json::to_string(config).map_err(|e| Error::Format(e.to_string()))?;
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lists) = cache.get(&key) {
            return Ok(lists.clone());
        }
        let lists = Arc::new(Lists::load(config)?);
        cache.insert(key, lists.clone());
        Ok(lists)
    }

    fn load(config: &UrlFilterConfig) -> Result<Lists> {
        let strings = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
        let extra = |v: &Option<Vec<String>>, normalize| {
            let list = strings(v);
            parse_list(list.iter().map(String::as_str), normalize)
        };
        let mut domains = extra(&config.extra_domains, false);
        let mut urls = extra(&config.extra_urls, false);
        let mut banned_words = extra(&config.banned_words, true);
        let mut banned_subwords = extra(&config.banned_subwords, true);
        let mut soft_banned_words = extra(&config.soft_banned_words, true);
        if config.use_integrated_lists {
            let folder = match &config.integrated_lists_folder {
                Some(f) => PathBuf::from(f),
                None => crate::assets_folder("url_filter")?,
            };
            let read = |name: &str| {
                let path = folder.join(name);
                std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))
            };
            domains.extend(parse_list(read("domains")?.lines(), false));
            urls.extend(parse_list(read("urls")?.lines(), false));
            banned_words.extend(parse_list(include_str!("../data/banned_words.txt").lines(), true));
            banned_subwords.extend(parse_list(include_str!("../data/banned_subwords.txt").lines(), true));
            soft_banned_words.extend(parse_list(include_str!("../data/soft_banned_words.txt").lines(), true));
        }
        let mut subwords: Vec<&String> = banned_subwords.iter().filter(|w| !w.is_empty()).collect();
        subwords.sort();
        let subwords = if subwords.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(subwords).map_err(|e| Error::config(format!("banned_subwords: {e}")))?)
        };
        Ok(Lists {
            domains: PackedSet::new(domains),
            urls: PackedSet::new(urls),
            banned_words,
            soft_banned_words,
            subwords,
            soft_word_threshold: config.soft_word_threshold,
            suffixes: SuffixTrie::icann(),
        })
    }
}

/// The runtime URL filter.
pub struct UrlFilter {
    lists: Arc<Lists>,
}

impl UrlFilter {
    /// A filter with the lists of `config` (loaded once per process for equal configs).
    pub fn new(config: &UrlFilterConfig) -> Result<UrlFilter> {
        Ok(UrlFilter { lists: Lists::shared(config)? })
    }
}

impl Filter for UrlFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let Some(url) = doc.metadata.get("url").and_then(|v| v.as_str()).filter(|u| !u.is_empty()) else {
            // DataTrove asserts; a document without a URL is dropped with a reason here.
            return Verdict::Drop(Some("missing_url"));
        };
        let lists = &self.lists;
        let host = lenient_netloc(url);
        let parts = lists.suffixes.extract(&host);
        if !parts.registered_domain().is_empty() && lists.domains.contains(&parts.registered_domain()) {
            return Verdict::Drop(Some("domain"));
        }
        if !parts.fqdn().is_empty() && lists.domains.contains(&parts.fqdn()) {
            return Verdict::Drop(Some("subdomain"));
        }
        if lists.urls.contains(url) {
            return Verdict::Drop(Some("url"));
        }
        // `set(re.split(r"[^a-zA-Z0-9]+", url))`: the words keep their case.
        let words: HashSet<&str> = url.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        if lists.banned_words.iter().any(|w| words.contains(w.as_str())) {
            return Verdict::Drop(Some("hard_blacklisted"));
        }
        let soft = lists.soft_banned_words.iter().filter(|w| words.contains(w.as_str())).count();
        if soft >= lists.soft_word_threshold {
            return Verdict::Drop(Some("soft_blacklisted"));
        }
        if let Some(subwords) = &lists.subwords {
            if subwords.is_match(&normalize(url)) {
                return Verdict::Drop(Some("blacklisted_subword"));
            }
        }
        Verdict::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_follow_datatrove_order() {
        let config = UrlFilterConfig {
            soft_word_threshold: 2,
            extra_domains: Some(vec!["blocked.com".into()]),
            extra_urls: Some(vec!["http://ok.org/bad".into()]),
            banned_words: Some(vec!["casino".into()]),
            banned_subwords: Some(vec!["xyzzy".into()]),
            soft_banned_words: Some(vec!["hot".into(), "deal".into()]),
            use_integrated_lists: false,
            exclusion_writer: None,
            integrated_lists_folder: None,
        };
        let mut filter = UrlFilter { lists: Arc::new(Lists::load(&config).expect("lists")) };
        let check = |f: &mut UrlFilter, url: &str| f.filter(&Document::new("t", "1").with_meta("url", url));
        assert_eq!(check(&mut filter, "http://blocked.com/a"), Verdict::Drop(Some("domain")));
        assert_eq!(check(&mut filter, "http://www.blocked.com/a"), Verdict::Drop(Some("domain")));
        assert_eq!(check(&mut filter, "http://ok.org/bad"), Verdict::Drop(Some("url")));
        assert_eq!(check(&mut filter, "http://ok.org/casino-night"), Verdict::Drop(Some("hard_blacklisted")));
        assert_eq!(check(&mut filter, "http://ok.org/hot/deal"), Verdict::Drop(Some("soft_blacklisted")));
        assert_eq!(check(&mut filter, "http://ok.org/hot"), Verdict::Keep);
        assert_eq!(check(&mut filter, "http://ok.org/XYZ-zy"), Verdict::Drop(Some("blacklisted_subword")));
        assert_eq!(filter.filter(&Document::new("t", "2")), Verdict::Drop(Some("missing_url")));
    }
}
