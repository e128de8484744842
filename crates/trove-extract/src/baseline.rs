//! Python trafilatura 1.11's `baseline`: the rescue `bare_extraction` applies to the raw page when
//! the main extraction (after the readability/justext comparison) is shorter than
//! `min_extracted_size` (250 characters), in every focus mode.
//!
//! The strategies, in order: the JSON-LD `articleBody`; after removing `aside`, `footer`, `script` and
//! `style`, each `<article>` with more than 100 characters; the distinct texts of `blockquote`,
//! `code`, `p`, `pre`, `q` and `quote` elements; every text node of `<body>` on its own line.

use scraper::node::Node;
use scraper::{ElementRef, Html, Selector};
use std::collections::HashSet;
use std::sync::LazyLock;

use crate::pytrafilatura::trim;

/// What `baseline` returns: the `<p>` texts of its body and the length Python compares (`len_text`).
pub(crate) struct Baseline {
    /// The texts of the output body's paragraphs, in order.
    pub paragraphs: Vec<String>,
    /// `len(temp_text)` in characters: 0 means Python drops the page.
    pub len_text: usize,
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("invalid built-in selector {css}: {e}"))
}

static JSON_LD: LazyLock<Selector> = LazyLock::new(|| selector(r#"script[type="application/ld+json"]"#));
static CLEANED: LazyLock<Selector> = LazyLock::new(|| selector("aside, footer, script, style"));
static ARTICLE: LazyLock<Selector> = LazyLock::new(|| selector("article"));
static TEXTUAL: LazyLock<Selector> = LazyLock::new(|| selector("blockquote, code, p, pre, q, quote"));
static BODY: LazyLock<Selector> = LazyLock::new(|| selector("body"));

/// lxml's `text_content()`: the text of every descendant text node.
fn text_content(element: ElementRef<'_>) -> String {
    element.text().collect()
}

/// `baseline(filecontent)` on the page's HTML.
pub(crate) fn baseline(html: &str) -> Baseline {
    let mut tree = Html::parse_document(html);
    let mut paragraphs = Vec::new();

    // The JSON-LD article body.
    let mut temp_text = String::new();
    for script in tree.select(&JSON_LD) {
        let source = text_content(script);
        if !source.contains("articleBody") {
            continue;
        }
        let body = serde_json::from_str::<serde_json::Value>(&source)
            .ok()
            .and_then(|v| v.get("articleBody").and_then(|b| b.as_str()).map(str::to_string))
            .unwrap_or_default();
        if body.is_empty() {
            continue;
        }
        let text = if body.contains("<p>") {
            trim(&Html::parse_document(&body).root_element().text().collect::<String>())
        } else {
            trim(&body)
        };
        if !temp_text.is_empty() {
            temp_text.push(' ');
        }
        temp_text.push_str(&text);
        paragraphs.push(text);
    }
    if temp_text.chars().count() > 100 {
        return Baseline { len_text: temp_text.chars().count(), paragraphs };
    }

    // `basic_cleaning`: the removed elements' following text stays where it was.
    let removed: Vec<_> = tree.select(&CLEANED).map(|e| e.id()).collect();
    for id in removed {
        if let Some(mut node) = tree.tree.get_mut(id) {
            node.detach();
        }
    }

    // Articles.
    let mut temp_text = String::new();
    for article in tree.select(&ARTICLE) {
        let text = trim(&text_content(article));
        if text.chars().count() > 100 {
            if !temp_text.is_empty() {
                temp_text.push(' ');
            }
            temp_text.push_str(&text);
            paragraphs.push(text);
        }
    }
    if !paragraphs.is_empty() {
        return Baseline { len_text: temp_text.chars().count(), paragraphs };
    }

    // Distinct paragraph-like elements.
    let mut seen = HashSet::new();
    let mut temp_text = String::new();
    for element in tree.select(&TEXTUAL) {
        let entry = trim(&text_content(element));
        if seen.insert(entry.clone()) {
            if !temp_text.is_empty() {
                temp_text.push(' ');
            }
            temp_text.push_str(&entry);
            paragraphs.push(entry);
        }
    }
    if temp_text.chars().count() > 100 {
        return Baseline { len_text: temp_text.chars().count(), paragraphs };
    }

    // Everything in the body, one text node per line.
    match tree.select(&BODY).next() {
        Some(body) => {
            let lines: Vec<String> = body
                .descendants()
                .filter_map(|n| match n.value() {
                    Node::Text(t) => Some(trim(t)),
                    _ => None,
                })
                .collect();
            let text = lines.join("\n");
            Baseline { len_text: text.chars().count(), paragraphs: vec![text] }
        }
        None => Baseline { len_text: 0, paragraphs: Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::baseline;

    /// Each strategy on a page that reaches it; expectations from Python trafilatura 1.11's
    /// `baseline` (the venv DataTrove 0.10.1 installs).
    #[test]
    fn strategies_in_python_order() {
        let long = "word ".repeat(30);
        let cases: Vec<(String, Vec<String>, usize)> = vec![
            (
                format!(
                    r#"<html><head><script type="application/ld+json">{{"articleBody": "{long}"}}</script></head><body><p>x</p></body></html>"#
                ),
                vec![long.trim().to_string()],
                149,
            ),
            (
                format!("<html><body><article>{long}<footer>gone</footer></article><p>p</p></body></html>"),
                vec![long.trim().to_string()],
                149,
            ),
            (
                format!("<html><body><p>{long}</p><div><p>{long}</p><q>short</q></div></body></html>"),
                vec![long.trim().to_string(), "short".to_string()],
                155,
            ),
            (
                "<html><body><div>Prev</div><a>Next</a> tail <script>x()</script><p>one</p></body></html>"
                    .to_string(),
                vec!["Prev\nNext\ntail\none".to_string()],
                18,
            ),
        ];
        for (html, paragraphs, len) in cases {
            let got = baseline(&html);
            assert_eq!(got.paragraphs, paragraphs, "{html}");
            assert_eq!(got.len_text, len, "{html}");
        }
    }
}
