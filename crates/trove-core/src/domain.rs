//! tldextract's split of a host into subdomain, domain and public suffix, over the bundled Public
//! Suffix List (ICANN section, as DataTrove's default `TLDExtract()`): shared by the URL filter and
//! the `fqdn` / `suffix` stats groups.

use std::collections::HashMap;
use std::sync::OnceLock;

/// tldextract's `lenient_netloc`: the host of a URL-like string, case kept, without user info, port
/// or trailing dots.
pub fn lenient_netloc(url: &str) -> String {
    let schemeless = match url.find("//") {
        Some(0) => &url[2..],
        Some(i)
            if i >= 2
                && url.as_bytes()[i - 1] == b':'
                && url[..i - 1].bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            &url[i + 2..]
        }
        _ => url,
    };
    let authority = schemeless.split(['/', '?', '#']).next().unwrap_or("");
    let after_userinfo = authority.rsplit('@').next().unwrap_or("");
    if after_userinfo.starts_with('[') {
        if let Some(end) = after_userinfo.find(']') {
            return after_userinfo[..=end].to_string();
        }
    }
    let host = after_userinfo.split(':').next().unwrap_or("");
    let host = crate::text::py_strip(host);
    host.trim_end_matches(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}']).to_string()
}

/// tldextract's result: `subdomain`, `domain`, `suffix`.
pub struct Extracted {
    /// Labels before the registered domain.
    pub subdomain: String,
    /// The label before the suffix.
    pub domain: String,
    /// The public suffix.
    pub suffix: String,
}

impl Extracted {
    /// `domain.suffix`, empty without either.
    pub fn registered_domain(&self) -> String {
        if self.domain.is_empty() || self.suffix.is_empty() {
            String::new()
        } else {
            format!("{}.{}", self.domain, self.suffix)
        }
    }

    /// The fully qualified domain name, empty without domain or suffix.
    pub fn fqdn(&self) -> String {
        if self.domain.is_empty() || self.suffix.is_empty() {
            return String::new();
        }
        [&self.subdomain, &self.domain, &self.suffix]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// The Public Suffix List's ICANN section as tldextract's trie (private domains excluded, as
/// DataTrove's default `TLDExtract()`).
#[derive(Default)]
pub struct SuffixTrie {
    matches: HashMap<String, SuffixTrie>,
    end: bool,
}

impl SuffixTrie {
    /// The bundled ICANN section, parsed once per process.
    pub fn icann() -> &'static SuffixTrie {
        static TRIE: OnceLock<SuffixTrie> = OnceLock::new();
        TRIE.get_or_init(|| {
            let mut root = SuffixTrie::default();
            for line in include_str!("../data/public_suffix_list.dat").lines() {
                let Some(suffix) = line.split_whitespace().next().filter(|s| !s.starts_with("//")) else {
                    continue;
                };
                let mut node = &mut root;
                for label in suffix.rsplit('.') {
                    node = node.matches.entry(label.to_string()).or_default();
                }
                node.end = true;
            }
            root
        })
    }

    /// tldextract's `_extract_netloc` for a host (IPv6 and IPv4 hosts have no suffix).
    pub fn extract(&self, host: &str) -> Extracted {
        let host = host.replace(['\u{3002}', '\u{ff0e}', '\u{ff61}'], ".");
        let none = |domain: &str| Extracted {
            subdomain: String::new(),
            domain: domain.into(),
            suffix: String::new(),
        };
        if host.len() >= 4 && host.starts_with('[') && host.ends_with(']') {
            return none(&host);
        }
        let labels: Vec<&str> = host.split('.').collect();
        let mut node = self;
        let mut label_idx = labels.len();
        let mut suffix_idx = labels.len();
        for label in labels.iter().rev() {
            let lowered = label.to_lowercase();
            if let Some(next) = node.matches.get(&lowered) {
                label_idx -= 1;
                node = next;
                if node.end {
                    suffix_idx = label_idx;
                }
                continue;
            }
            if node.matches.contains_key("*") {
                let exception = node.matches.contains_key(&format!("!{lowered}"));
                suffix_idx = if exception { label_idx } else { label_idx.saturating_sub(1) };
            }
            break;
        }
        if suffix_idx == labels.len() {
            if labels.len() == 4 && host.parse::<std::net::Ipv4Addr>().is_ok() {
                return none(&host);
            }
            return Extracted {
                subdomain: labels[..labels.len() - 1].join("."),
                domain: labels[labels.len() - 1].to_string(),
                suffix: String::new(),
            };
        }
        Extracted {
            subdomain: if suffix_idx >= 2 { labels[..suffix_idx - 1].join(".") } else { String::new() },
            domain: if suffix_idx > 0 { labels[suffix_idx - 1].to_string() } else { String::new() },
            suffix: labels[suffix_idx..].join("."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_hosts_like_tldextract() {
        let trie = SuffixTrie::icann();
        let cases = [
            ("http://forums.bbc.co.uk/path", "forums.bbc.co.uk", "bbc.co.uk"),
            ("https://user:pw@www.Example.COM:8080/x?y#z", "www.Example.COM", "Example.COM"),
            ("example.org", "example.org", "example.org"),
            ("http://localhost:8080", "", ""),
            ("http://127.0.0.1/x", "", ""),
            ("http://a.b.blogspot.com", "a.b.blogspot.com", "blogspot.com"),
            ("http://www.city.kawasaki.jp", "www.city.kawasaki.jp", "city.kawasaki.jp"),
            ("http://foo.bar.kawasaki.jp", "foo.bar.kawasaki.jp", "foo.bar.kawasaki.jp"),
        ];
        for (url, fqdn, registered) in cases {
            let parts = trie.extract(&lenient_netloc(url));
            assert_eq!(
                (parts.fqdn().as_str(), parts.registered_domain().as_str()),
                (fqdn, registered),
                "{url}"
            );
        }
    }
}
