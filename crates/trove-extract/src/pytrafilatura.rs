//! Python trafilatura 1.11's extraction (the version DataTrove 0.10.1 installs), ported for the
//! options DataTrove's `Trafilatura` step passes: text output, comments, links, images and formatting
//! off, tables on, `favor_precision` and `deduplicate` as configured.
//!
//! The port follows `bare_extraction` step by step on an lxml-like tree ([`crate::etree`]): tree
//! cleaning, tag conversion, the `BODY_XPATH` candidates with their pruning and link-density rules,
//! the element handlers of `main_extractor.py` (their in-place mutations, `done` markers and element
//! moves included, since later steps see them), the wild-text recovery, the comparison with the
//! readability fallback ([`crate::readability_lxml`]) and with jusText ([`crate::justext`]), the
//! baseline rescue, the duplicate tests against the per-task LRU cache and `xmltotxt`. The XPath
//! expressions are written out as predicates over the tag and attributes.

use crate::etree::{Id, Tree};
use crate::SeenLines;

/// `MIN_EXTRACTED_SIZE`.
const MIN_EXTRACTED_SIZE: usize = 250;

fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python trafilatura's `trim`: `' '.join(s.split())`.
pub(crate) fn trim(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split(is_py_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn trim_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(trim)
}

fn truthy(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

fn py_len(s: &str) -> usize {
    s.chars().count()
}

/// `text_chars_test`: not empty and not only whitespace.
fn text_chars(s: Option<&str>) -> bool {
    s.is_some_and(|s| !s.is_empty() && !s.chars().all(is_py_space))
}

/// Python `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `RE_FILTER.match(line)`.
fn re_filter(line: &str) -> bool {
    let rest = line.trim_start_matches(|c: char| !is_word_char(c));
    let lower = rest.to_lowercase();
    const WORDS: &[&str] = &[
        "drucken",
        "e-mail",
        "email",
        "facebook",
        "flipboard",
        "google",
        "instagram",
        "linkedin",
        "mail",
        "pdf",
        "pinterest",
        "pocket",
        "print",
        "qq",
        "reddit",
        "twitter",
        "wechat",
        "weibo",
        "whatsapp",
        "xing",
        "mehr zum thema",
        "mehr zum thema:",
    ];
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    lower.strip_prefix("more on this").is_some_and(|tail| tail.chars().count() <= 8)
}

/// Python's `str.splitlines`.
fn splitlines(s: &str) -> impl Iterator<Item = &str> {
    let mut lines: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if matches!(
            c,
            '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        ) {
            lines.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = iter.peek() {
                    iter.next();
                    end = j + 1;
                }
            }
            start = end;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines.into_iter()
}

// ---------------------------------------------------------------------------------------------
// The XPath expressions of xpaths.py as predicates.

struct A<'a> {
    tag: &'a str,
    attrs: &'a [(String, String)],
    /// `@class` and `@id`, looked up once: most expressions test them.
    class: Option<&'a str>,
    id: Option<&'a str>,
}

impl<'a> A<'a> {
    fn new(tag: &'a str, attrs: &'a [(String, String)]) -> A<'a> {
        let (mut class, mut id) = (None, None);
        for (k, v) in attrs {
            match k.as_str() {
                "class" if class.is_none() => class = Some(v.as_str()),
                "id" if id.is_none() => id = Some(v.as_str()),
                _ => {}
            }
        }
        A { tag, attrs, class, id }
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        match name {
            "class" => self.class,
            "id" => self.id,
            _ if self.attrs.is_empty() => None,
            _ => self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()),
        }
    }
    fn has(&self, name: &str, needle: &str) -> bool {
        self.get(name).is_some_and(|v| v.contains(needle))
    }
    /// `contains(translate(@name, from, to), needle)` for an ASCII `from`/`to` and `needle`.
    fn has_tr(&self, name: &str, from: char, to: char, needle: &str) -> bool {
        let (from, to, needle) = (from as u8, to as u8, needle.as_bytes());
        self.get(name).is_some_and(|v| {
            v.as_bytes()
                .windows(needle.len())
                .any(|w| w.iter().zip(needle).all(|(&b, &n)| if b == from { to == n } else { b == n }))
        })
    }
    fn starts(&self, name: &str, prefix: &str) -> bool {
        self.get(name).is_some_and(|v| v.starts_with(prefix))
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.get(name) == Some(value)
    }
    fn tag_in(&self, tags: &[&str]) -> bool {
        tags.contains(&self.tag)
    }
}

const ADMS: &[&str] = &["article", "div", "main", "section"];
const BLOCKY: &[&str] = &["div", "item", "list", "p", "section", "span"];

fn body_xpath_1(a: &A<'_>) -> bool {
    a.tag_in(ADMS)
        && (a.is("class", "post")
            || a.is("class", "entry")
            || [
                "post-text",
                "post_text",
                "post-body",
                "post-entry",
                "postentry",
                "post-content",
                "post_content",
                "postcontent",
                "postContent",
                "post_inner_wrapper",
                "article-text",
                "articletext",
                "articleText",
                "entry-content",
                "article-content",
                "article__content",
                "article-body",
                "article__body",
                "ArticleContent",
                "page-content",
                "text-content",
                "body-text",
                "article__container",
                "art-content",
            ]
            .iter()
            .any(|n| a.has("class", n))
            || [
                "entry-content",
                "article-content",
                "article__content",
                "article-body",
                "article__body",
                "body-text",
                "art-content",
            ]
            .iter()
            .any(|n| a.has("id", n))
            || a.is("itemprop", "articleBody")
            || a.has_tr("id", 'B', 'b', "articlebody")
            || a.has_tr("class", 'B', 'b', "articleBody")
            || a.is("id", "articleContent"))
}

fn body_xpath_2(a: &A<'_>) -> bool {
    a.tag == "article"
}

fn body_xpath_3(a: &A<'_>) -> bool {
    a.tag_in(ADMS)
        && ([
            "post-bodycopy",
            "storycontent",
            "story-content",
            "theme-content",
            "blog-content",
            "section-content",
            "single-content",
            "single-post",
            "main-column",
            "wpb_text_column",
            "story-body",
            "field-body",
        ]
        .iter()
        .any(|n| a.has("class", n))
            || a.is("class", "postarea")
            || a.is("class", "art-postcontent")
            || a.starts("id", "primary")
            || a.starts("class", "article ")
            || a.is("class", "text")
            || a.is("id", "article")
            || a.is("class", "cell")
            || a.is("id", "story")
            || a.is("class", "story")
            || a.has("id", "story-body")
            || a.get("class").is_some_and(|v| {
                v.chars()
                    .map(|c| match c {
                        'F' => 'f',
                        'U' => 'u',
                        'L' => 'l',
                        'T' => 't',
                        'E' => 'e',
                        'X' => 'x',
                        c => c,
                    })
                    .collect::<String>()
                    .contains("fulltext")
            })
            || a.is("role", "article"))
}

fn body_xpath_4(a: &A<'_>) -> bool {
    a.tag_in(ADMS)
        && (a.has("id", "content-main")
            || a.has("class", "content-main")
            || a.has("class", "content_main")
            || a.has("id", "content-body")
            || a.has("class", "content-body")
            || a.has("id", "contentBody")
            || a.has("class", "content__body")
            || a.get("id").is_some_and(|v| v.replace('C', "c").replace('M', "m").contains("main-content"))
            || a.get("class").is_some_and(|v| v.replace('C', "c").replace('M', "m").contains("main-content"))
            || a.get("class").is_some_and(|v| v.replace('C', "c").replace('P', "p").contains("page-content"))
            || a.is("id", "content")
            || a.is("class", "content"))
}

fn body_xpath_5(a: &A<'_>) -> bool {
    (a.tag_in(&["article", "div", "section"])
        && (a.starts("class", "main") || a.starts("id", "main") || a.starts("role", "main")))
        || a.tag == "main"
}

const BODY_XPATH: [fn(&A<'_>) -> bool; 5] =
    [body_xpath_1, body_xpath_2, body_xpath_3, body_xpath_4, body_xpath_5];

fn remove_comments_xpath(a: &A<'_>) -> bool {
    a.tag_in(&["div", "list", "section"])
        && (a.get("id").is_some_and(|v| v.replace('C', "c").starts_with("comment"))
            || a.get("class").is_some_and(|v| v.replace('C', "c").starts_with("comment"))
            || a.has("class", "article-comments")
            || a.has("class", "post-comments")
            || a.starts("id", "comol")
            || a.starts("id", "disqus_thread")
            || a.starts("id", "dsq-comments"))
}

fn paywall_xpath(a: &A<'_>) -> bool {
    a.tag_in(&["div", "p"])
        && (a.has("id", "paywall")
            || a.has("id", "premium")
            || ["paid-content", "paidcontent", "obfuscated", "blurred", "restricted", "overlay"]
                .iter()
                .any(|n| a.has("class", n)))
}

fn overall_discard_1(a: &A<'_>) -> bool {
    const CLASS: &[&str] = &[
        "share-",
        "social",
        "sociable",
        "syndication",
        "embedded",
        "embed",
        "newsletter",
        "subnav",
        "cookie",
        "tags",
        "tag-list",
        "sidebar",
        "banner",
        "bar",
        "meta",
        "menu",
        "navbar",
        "navbox",
        "breadcrumb",
        "bread-crumb",
        "author",
        "button",
        "rating",
        "widget",
        "attachment",
        "timestamp",
        "user-info",
        "user-profile",
        "-ad-",
        "-icon",
        "article-infos",
        "outbrain",
        "taboola",
        "criteo",
        "options",
        "expand",
        "consent",
        "modal-content",
        "paid-content",
        "paidcontent",
        "obfuscated",
        "blurred",
        " ad ",
        "permission",
        "next-",
        "side-stories",
        "related-stories",
        "most-popular",
        "mol-factbox",
        "message-container",
        "yin",
        "zlylin",
        "xg1",
        "slide",
        "viewport",
        "viral",
    ];
    const ID: &[&str] = &[
        "related",
        "viral",
        "social",
        "syndication",
        "newsletter",
        "cookie",
        "tags",
        "sidebar",
        "banner",
        "menu",
        "breadcrumb",
        "bread-crumb",
        "author",
        "button",
        "premium-",
        "paywall",
        "message_container",
        "bmdh",
    ];
    a.tag_in(BLOCKY)
        && (a.has_tr("id", 'F', 'f', "footer")
            || a.has_tr("class", 'F', 'f', "footer")
            || a.has_tr("class", 'R', 'r', "related")
            || a.starts("id", "shar")
            || a.starts("class", "shar")
            || a.has_tr("id", 'S', 's', "share")
            || a.starts("id", "jp-")
            || a.starts("id", "dpsp-content")
            || a.has_tr("id", 'N', 'n', "nav")
            || a.has_tr("role", 'N', 'n', "nav")
            || a.starts("class", "nav")
            || a.has_tr("class", 'N', 'n', "navigation")
            || a.starts("class", "post-nav")
            || a.has_tr("class", 'B', 'b', "byline")
            || a.has_tr("class", 'I', 'i', "infoline")
            || a.has("data-component", "MostPopularStories")
            || a.starts("class", "ZendeskForm")
            || a.get("data-lp-replacement-content").is_some()
            || CLASS.iter().any(|n| a.has("class", n))
            || ID.iter().any(|n| a.has("id", n)))
}

fn overall_discard_2(a: &A<'_>) -> bool {
    a.is("class", "comments-title")
        || [
            "comments-title",
            "nocomments",
            "-reply-",
            "message",
            "akismet",
            "suggest-links",
            "-hide-",
            "hide-print",
            " hidden",
            " hide",
            "noprint",
            "notloaded",
        ]
        .iter()
        .any(|n| a.has("class", n))
        || a.starts("id", "reply-")
        || a.starts("class", "reply-")
        || a.has("id", "reader-comments")
        || a.has("id", "akismet")
        || a.starts("class", "hide-")
        || a.has("id", "hidden")
        || a.has("style", "hidden")
        || a.has("style", "display:none")
        || a.has("style", "display: none")
        || a.is("aria-hidden", "true")
}

fn teaser_xpath(a: &A<'_>) -> bool {
    a.tag_in(BLOCKY) && (a.has_tr("id", 'T', 't', "teaser") || a.has_tr("class", 'T', 't', "teaser"))
}

fn precision_discard_1(a: &A<'_>) -> bool {
    a.tag == "header"
}

fn precision_discard_2(a: &A<'_>) -> bool {
    a.tag_in(BLOCKY)
        && (a.has("id", "bottom")
            || a.has("class", "bottom")
            || a.has("id", "link")
            || a.has("class", "link")
            || a.has("style", "border"))
}

fn discard_image_xpath(a: &A<'_>) -> bool {
    a.tag_in(BLOCKY) && (a.has("id", "caption") || a.has("class", "caption"))
}

// ---------------------------------------------------------------------------------------------

const MANUALLY_CLEANED: &[&str] = &[
    "aside", "embed", "footer", "form", "head", "iframe", "menu", "object", "script", "applet", "audio",
    "canvas", "figure", "map", "picture", "svg", "video", "area", "blink", "button", "datalist", "dialog",
    "frame", "frameset", "fieldset", "link", "input", "ins", "label", "legend", "marquee", "math",
    "menuitem", "nav", "noscript", "optgroup", "option", "output", "param", "progress", "rp", "rt", "rtc",
    "select", "source", "style", "track", "textarea", "time", "use",
];
const MANUALLY_STRIPPED: &[&str] = &[
    "abbr", "acronym", "address", "bdi", "bdo", "big", "cite", "data", "dfn", "font", "hgroup", "img", "ins",
    "mark", "meta", "ruby", "small", "tbody", "template", "tfoot", "thead",
];
const CUT_EMPTY_ELEMS: &[&str] = &[
    "article",
    "b",
    "blockquote",
    "dd",
    "div",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "i",
    "li",
    "main",
    "p",
    "pre",
    "q",
    "section",
    "span",
    "strong",
];
const REND_TAGS: &[&str] = &["em", "i", "b", "strong", "u", "kbd", "samp", "tt", "var", "sub", "sup"];
const CONVERSION_TAGS: &[&str] = &[
    "dl",
    "ol",
    "ul",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "hr",
    "blockquote",
    "pre",
    "q",
    "del",
    "s",
    "strike",
    "details",
];
const TAG_CATALOG: &[&str] = &["blockquote", "code", "del", "head", "hi", "lb", "list", "p", "pre", "quote"];
const FORMATTING_PROTECTED: &[&str] = &["cell", "head", "hi", "item", "p", "quote", "ref", "td"];
const TEI_VALID_TAGS: &[&str] = &[
    "ab", "body", "cell", "code", "del", "div", "graphic", "head", "hi", "item", "lb", "list", "p", "quote",
    "ref", "row", "table",
];
const SANITIZED: &[&str] = &[
    "aside", "audio", "button", "fieldset", "figure", "footer", "iframe", "input", "label", "link", "nav",
    "noindex", "noscript", "object", "option", "select", "source", "svg", "time",
];
/// The set of potential tags (`potential_tags`).
#[derive(Clone)]
struct Tags(Vec<&'static str>);

impl Tags {
    fn has(&self, tag: &str) -> bool {
        self.0.contains(&tag)
    }
    fn add(&mut self, tag: &'static str) {
        if !self.has(tag) {
            self.0.push(tag);
        }
    }
}

/// One page's extraction state.
struct Ex<'a> {
    t: Tree,
    precision: bool,
    seen: Option<&'a mut SeenLines>,
    /// A Python exception Trafilatura catches by discarding the document (`TypeError`, `ValueError`).
    failed: bool,
}

/// What the extraction gives: the text DataTrove stores, or nothing (Trafilatura returned `None`).
pub(crate) fn extract(html: &str, precision: bool, seen: Option<&mut SeenLines>) -> String {
    let html = crate::inscriptis::keep_pre_newlines(html);
    let (t, root) = Tree::parse(&html);
    let mut ex = Ex { t, precision, seen, failed: false };
    // load_html's rejection of what is not HTML at all.
    let beginning: String = html.chars().take(50).collect::<String>().to_lowercase();
    if !beginning.contains("html") && ex.lxml_root_len(root) < 2 {
        return String::new();
    }
    ex.bare_extraction(&html, root).unwrap_or_default()
}

/// jusText's paragraphs (text, classified good) as `justext_rescue` makes them: on the page after
/// `tree_cleaning` and the paywall and comment-section pruning. `html` is the page as `extract`
/// parses it.
fn justext_paragraphs_of(html: &str, precision: bool) -> Vec<(String, bool)> {
    let (t, root) = Tree::parse(html);
    Ex { t, precision, seen: None, failed: false }.justext_on(root)
}

/// jusText's paragraphs of a raw page, as trafilatura (`favour_precision` when `precision`) would
/// classify them in its second fallback: for the golden tests against Python.
#[doc(hidden)]
pub fn justext_paragraphs(html: &str, precision: bool) -> Vec<(String, bool)> {
    justext_paragraphs_of(&crate::inscriptis::keep_pre_newlines(html), precision)
}

impl Ex<'_> {
    fn attrs(&self, id: Id) -> A<'_> {
        A::new(&self.t.n[id].tag, &self.t.n[id].attrs)
    }

    /// `len(tree)` as lxml would give it: html5ever always adds `<head>`, libxml2 only when the page
    /// has head content.
    fn lxml_root_len(&self, root: Id) -> usize {
        self.t
            .children(root)
            .filter(|&c| !(self.t.tag(c) == "head" && self.t.len(c) == 0 && self.t.n[c].attrs.is_empty()))
            .count()
    }

    fn duplicate_test(&mut self, e: Id) -> bool {
        let joined = self.t.joined_text(e);
        match self.seen.as_deref_mut() {
            Some(seen) => seen.duplicate(&joined),
            None => false,
        }
    }

    fn bare_extraction(&mut self, html: &str, tree: Id) -> Option<String> {
        let tree_backup = self.t.deepcopy(tree);
        // Python keeps a copy of the cleaned tree here for jusText; it is rebuilt from `html` when
        // jusText runs.
        let cleaned = self.clean_and_convert(tree);
        let (mut body, mut len_text) = self.extract_content(cleaned, tree_backup);
        let mut rescued: Option<Vec<String>> = None;
        if let Some((b, len)) = self.compare_extraction(html, tree_backup, body, len_text) {
            body = b;
            len_text = len;
        }
        if self.failed {
            return None;
        }
        if len_text < MIN_EXTRACTED_SIZE {
            let rescue = crate::baseline::baseline(html);
            len_text = rescue.len_text;
            rescued = Some(rescue.paragraphs);
        }
        if len_text < 1 {
            return None;
        }
        let text = match rescued {
            Some(paragraphs) => {
                let joined = paragraphs.join(" ");
                if let Some(seen) = self.seen.as_deref_mut() {
                    if seen.duplicate(&joined) {
                        return None;
                    }
                }
                crate::totext::paragraphs_to_text(&paragraphs)
            }
            None => {
                if self.duplicate_test(body) {
                    return None;
                }
                self.xmltotxt(body)
            }
        };
        Some(nfc(text))
    }

    /// `tree_cleaning`, `convert_tags` and, in precision mode, the removal of comment sections.
    fn clean_and_convert(&mut self, tree: Id) -> Id {
        let cleaned = self.tree_cleaning(tree);
        self.convert_tags(cleaned);
        if self.precision {
            self.prune_unwanted_nodes(cleaned, &[remove_comments_xpath], false);
        }
        cleaned
    }

    // ----- htmlprocessing.py -----

    fn tree_cleaning(&mut self, tree: Id) -> Id {
        for e in self.t.descendants(tree) {
            if self.t.tag(e) == "figure" && self.t.descendants(e).iter().any(|&d| self.t.tag(d) == "table") {
                self.t.set_tag(e, "div");
            }
        }
        self.t.strip_tags(tree, |tag| MANUALLY_STRIPPED.contains(&tag));
        // One pass per tag, as Python's loop (a pass stops early in a nested case, lxml's live
        // iteration); tags absent from the page are skipped, their pass would change nothing.
        let present: Vec<&str> = {
            let mut seen = [false; MANUALLY_CLEANED.len()];
            for e in self.t.iter(tree) {
                if let Some(i) = MANUALLY_CLEANED.iter().position(|&t| t == self.t.tag(e)) {
                    seen[i] = true;
                }
            }
            MANUALLY_CLEANED.iter().zip(seen).filter(|(_, s)| *s).map(|(t, _)| *t).collect()
        };
        for tag in present {
            self.t.iter_live(tree, |t| t == tag, |t, e| t.delete_element(e));
        }
        self.prune_html(tree);
        tree
    }

    fn prune_html(&mut self, tree: Id) {
        let root = self.t.root_of(tree);
        let empty: Vec<Id> = self
            .t
            .iter(root)
            .into_iter()
            .filter(|&e| self.t.len(e) == 0 && self.t.n[e].text.is_none())
            .collect();
        for e in empty {
            if CUT_EMPTY_ELEMS.contains(&self.t.tag(e)) {
                self.t.delete_element(e);
            }
        }
    }

    fn prune_unwanted_nodes(&mut self, tree: Id, exprs: &[fn(&A<'_>) -> bool], with_backup: bool) -> Id {
        let backup = with_backup.then(|| (py_len(&self.t.text_content(tree)), self.t.deepcopy(tree)));
        for expr in exprs {
            let matches: Vec<Id> =
                self.t.descendants(tree).into_iter().filter(|&e| expr(&self.attrs(e))).collect();
            for sub in matches {
                if let Some(tail) = self.t.n[sub].tail.clone() {
                    let prev = self.t.previous(sub).or_else(|| self.t.parent(sub));
                    if let Some(prev) = prev {
                        let slot = &mut self.t.n[prev].tail;
                        let mut joined = slot.take().unwrap_or_default();
                        joined.push(' ');
                        joined.push_str(&tail);
                        *slot = Some(joined);
                    }
                }
                self.t.detach(sub);
            }
        }
        match backup {
            Some((old_len, copy)) => {
                let new_len = py_len(&self.t.text_content(tree));
                if new_len as f64 > old_len as f64 / 7.0 {
                    tree
                } else {
                    copy
                }
            }
            None => tree,
        }
    }

    fn link_info(&self, links: &[Id], precision: bool) -> (usize, usize, usize) {
        let threshold = if precision { 50 } else { 10 };
        let (mut lengths, mut count, mut short) = (0, 0, 0);
        for &l in links {
            let text = trim(&self.t.text_content(l));
            if !text.is_empty() {
                let len = py_len(&text);
                lengths += len;
                count += 1;
                short += usize::from(len < threshold);
            }
        }
        (lengths, count, short)
    }

    fn refs(&self, e: Id) -> Vec<Id> {
        self.t.descendants(e).into_iter().filter(|&d| self.t.tag(d) == "ref").collect()
    }

    /// `link_density_test`: (drop, whether the link list is non-empty).
    fn link_density_test(&self, e: Id, text: &str, precision: bool) -> (bool, bool) {
        let links = self.refs(e);
        if links.is_empty() {
            return (false, false);
        }
        let has_next = self.t.next(e).is_some();
        let limitlen = if self.t.tag(e) == "p" {
            if !precision {
                if has_next {
                    30
                } else {
                    60
                }
            } else {
                200
            }
        } else if has_next {
            100
        } else {
            300
        };
        let elemlen = py_len(text);
        if elemlen < limitlen {
            let (linklen, elemnum, short) = self.link_info(&links, precision);
            if elemnum == 0 {
                return (true, false);
            }
            if linklen as f64 > 0.8 * elemlen as f64 || (elemnum > 1 && short as f64 / elemnum as f64 > 0.8) {
                return (true, true);
            }
            return (false, true);
        }
        (false, false)
    }

    fn link_density_test_tables(&self, e: Id) -> bool {
        let links = self.refs(e);
        if links.is_empty() {
            return false;
        }
        let elemlen = py_len(&trim(&self.t.text_content(e)));
        if elemlen > 250 {
            let (linklen, elemnum, _) = self.link_info(&links, false);
            if elemnum == 0 {
                return true;
            }
            let (linklen, elemlen) = (linklen as f64, elemlen as f64);
            return if elemlen < 1000.0 { linklen > 0.8 * elemlen } else { linklen > 0.5 * elemlen };
        }
        false
    }

    fn delete_by_link_density(&mut self, subtree: Id, tag: &str, backtracking: bool, precision: bool) {
        let threshold = if precision { 200 } else { 100 };
        let mut deletions: Vec<Id> = Vec::new();
        // Deletions happen after the walk, so a snapshot is the same walk.
        let visited: Vec<Id> = self.t.iter(subtree).into_iter().filter(|&e| self.t.tag(e) == tag).collect();
        for e in visited {
            let text = trim(&self.t.text_content(e));
            let (drop, has_links) = self.link_density_test(e, &text, precision);
            if drop {
                deletions.push(e);
            } else if backtracking && has_links {
                let len = py_len(&text);
                if 0 < len && len < threshold && self.t.len(e) >= 3 {
                    deletions.extend(self.t.children(e));
                }
            }
        }
        let mut seen = trove_core::hash::FxHashSet::default();
        for e in deletions {
            if seen.insert(e) {
                self.t.delete_element(e);
            }
        }
    }

    fn handle_textnode(&mut self, e: Id, comments_fix: bool, preserve_spaces: bool) -> Option<Id> {
        let n = &self.t.n[e];
        if n.tag == "done" || (self.t.len(e) == 0 && !truthy(&n.text) && !truthy(&n.tail)) {
            return None;
        }
        if !comments_fix && n.tag == "lb" {
            if !preserve_spaces {
                self.t.n[e].tail = trim_opt(&self.t.n[e].tail);
            }
            return Some(e);
        }
        if !truthy(&n.text) && self.t.len(e) == 0 {
            let n = &mut self.t.n[e];
            n.text = n.tail.take();
            n.tail = Some(String::new());
            if comments_fix && n.tag == "lb" {
                n.tag = "p".into();
            }
        }
        if !preserve_spaces {
            let n = &mut self.t.n[e];
            n.text = trim_opt(&n.text);
            if truthy(&n.tail) {
                n.tail = trim_opt(&n.tail);
            }
        }
        if (!truthy(&self.t.n[e].text) && self.textfilter(e)) || self.duplicate_test(e) {
            return None;
        }
        Some(e)
    }

    fn textfilter(&self, e: Id) -> bool {
        let n = &self.t.n[e];
        let test = if n.text.is_none() { n.tail.as_deref() } else { n.text.as_deref() };
        if !text_chars(test) {
            return true;
        }
        test.is_some_and(|s| splitlines(s).any(re_filter))
    }

    fn process_node(&mut self, e: Id) -> Option<Id> {
        let childless = self.t.len(e) == 0;
        let n = &mut self.t.n[e];
        if n.tag == "done" || (childless && !truthy(&n.text) && !truthy(&n.tail)) {
            return None;
        }
        n.text = trim_opt(&n.text);
        n.tail = trim_opt(&n.tail);
        if n.tag != "lb" && !truthy(&n.text) && truthy(&n.tail) {
            n.text = n.tail.take();
        }
        if (truthy(&n.text) || truthy(&n.tail)) && (self.textfilter(e) || self.duplicate_test(e)) {
            return None;
        }
        Some(e)
    }

    fn convert_tags(&mut self, tree: Id) {
        // Links inside div, ul and table become `ref` (for link density), the others go.
        let under = |t: &Tree, e: Id| {
            let mut p = t.parent(e);
            while let Some(x) = p {
                if x == tree {
                    return false;
                }
                if matches!(t.tag(x), "div" | "ul" | "table") {
                    return true;
                }
                p = t.parent(x);
            }
            false
        };
        let refs: Vec<Id> = self
            .t
            .descendants(tree)
            .into_iter()
            .filter(|&e| self.t.tag(e) == "a" && under(&self.t, e))
            .collect();
        for e in refs {
            self.t.set_tag(e, "ref");
        }
        self.t.strip_tags(tree, |t| t == "a");
        self.t.strip_tags(tree, |t| REND_TAGS.contains(&t));
        self.t.iter_live(
            tree,
            |t| CONVERSION_TAGS.contains(&t),
            |t, e| {
                let tag = t.tag(e).to_string();
                match tag.as_str() {
                    "dl" | "ol" | "ul" => {
                        t.set(e, "rend", &tag);
                        t.set_tag(e, "list");
                        let mut i = 1;
                        let items: Vec<Id> = t
                            .iter(e)
                            .into_iter()
                            .filter(|&s| matches!(t.tag(s), "dd" | "dt" | "li"))
                            .collect();
                        for s in items {
                            let st = t.tag(s).to_string();
                            if st == "dd" || st == "dt" {
                                t.set(s, "rend", &format!("{st}-{i}"));
                                if st == "dd" {
                                    i += 1;
                                }
                            }
                            t.set_tag(s, "item");
                        }
                    }
                    "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                        t.n[e].attrs.clear();
                        t.set(e, "rend", &tag);
                        t.set_tag(e, "head");
                    }
                    "br" | "hr" => t.set_tag(e, "lb"),
                    "blockquote" | "pre" | "q" => {
                        let mut code = false;
                        if tag == "pre" {
                            if t.len(e) == 1 && t.first_child(e).is_some_and(|c| t.tag(c) == "span") {
                                code = true;
                            }
                            let hljs: Vec<Id> = t
                                .descendants(e)
                                .into_iter()
                                .filter(|&s| {
                                    t.tag(s) == "span"
                                        && t.get(s, "class").is_some_and(|c| c.starts_with("hljs"))
                                })
                                .collect();
                            if !hljs.is_empty() {
                                code = true;
                                for s in hljs {
                                    t.n[s].attrs.clear();
                                }
                            }
                        }
                        t.set_tag(e, if code { "code" } else { "quote" });
                    }
                    "del" | "s" | "strike" => {
                        t.set_tag(e, "del");
                        t.set(e, "rend", "overstrike");
                    }
                    "details" => {
                        t.set_tag(e, "div");
                        for s in t.iter(e) {
                            if t.tag(s) == "summary" {
                                t.set_tag(s, "head");
                            }
                        }
                    }
                    _ => {}
                }
            },
        );
    }

    // ----- main_extractor.py -----

    fn handle_titles(&mut self, e: Id) -> Option<Id> {
        let title = if self.t.len(e) == 0 {
            self.process_node(e)
        } else {
            let title = self.t.deepcopy(e);
            for child in self.t.children(e).collect::<Vec<_>>() {
                if let Some(pc) = self.handle_textnode(child, false, false) {
                    self.t.append(title, pc);
                }
                self.t.set_tag(child, "done");
            }
            Some(title)
        };
        let title = title?;
        text_chars(Some(&self.t.text_content(title))).then_some(title)
    }

    fn handle_formatting(&mut self, e: Id) -> Option<Id> {
        let formatting = self.process_node(e);
        if self.t.len(e) == 0 && formatting.is_none() {
            return None;
        }
        let Some(formatting) = formatting else {
            // Python inserts None into an element: a TypeError that discards the document.
            self.failed = true;
            return None;
        };
        let parent = self.t.parent(e).or_else(|| self.t.previous(e));
        match parent {
            Some(p) if FORMATTING_PROTECTED.contains(&self.t.tag(p)) => Some(formatting),
            _ => {
                let p = self.t.new_elem("p");
                self.t.insert(p, 0, formatting);
                Some(p)
            }
        }
    }

    fn is_text_element(&self, e: Id) -> bool {
        text_chars(Some(&self.t.text_content(e)))
    }

    fn process_nested_elements(&mut self, child: Id, new: Id) {
        self.t.n[new].text = self.t.n[child].text.clone();
        let top = child;
        let mut next = self.t.following_any(top, top);
        while let Some(sub) = next {
            next = self.t.following_any(sub, top);
            if self.t.tag(sub) == "list" {
                if let Some(ps) = self.handle_lists(sub) {
                    self.t.append(new, ps);
                }
            } else if let Some(ps) = self.handle_textnode(sub, false, false) {
                let tag = self.t.tag(ps).to_string();
                let s = self.t.sub_element(new, &tag);
                self.t.n[s].text = self.t.n[ps].text.clone();
                self.t.n[s].tail = self.t.n[ps].tail.clone();
                self.t.n[s].attrs = self.t.n[sub].attrs.clone();
            }
            self.t.set_tag(sub, "done");
        }
    }

    fn handle_lists(&mut self, e: Id) -> Option<Id> {
        let tag = self.t.tag(e).to_string();
        let pe = self.t.new_elem(&tag);
        if let Some(text) = self.t.n[e].text.clone().filter(|t| !py_strip(t).is_empty()) {
            let item = self.t.sub_element(pe, "item");
            self.t.n[item].text = Some(text);
        }
        let mut next = self.t.following_match_pub(e, e, |t| t == "item");
        while let Some(child) = next {
            next = self.t.following_match_pub(child, e, |t| t == "item");
            let new = self.t.new_elem("item");
            if self.t.len(child) == 0 {
                if let Some(pc) = self.process_node(child) {
                    let mut text = self.t.n[pc].text.clone();
                    if let Some(tail) = self.t.n[pc].tail.clone().filter(|t| !py_strip(t).is_empty()) {
                        match &mut text {
                            Some(t) => {
                                t.push(' ');
                                t.push_str(&tail);
                            }
                            None => {
                                self.failed = true;
                            }
                        }
                    }
                    self.t.n[new].text = text;
                    self.t.append(pe, new);
                }
            } else {
                self.process_nested_elements(child, new);
                if let Some(tail) = self.t.n[child].tail.clone().filter(|t| !py_strip(t).is_empty()) {
                    let kids: Vec<Id> = self.t.children(new).filter(|&k| self.t.tag(k) != "done").collect();
                    if let Some(&last) = kids.last() {
                        let slot = &mut self.t.n[last].tail;
                        if slot.as_deref().is_none_or(|t| py_strip(t).is_empty()) {
                            *slot = Some(tail);
                        } else if let Some(s) = slot {
                            s.push(' ');
                            s.push_str(&tail);
                        }
                    }
                }
            }
            if truthy(&self.t.n[new].text) || self.t.len(new) > 0 {
                if let Some(rend) = self.t.get(child, "rend").map(str::to_string) {
                    self.t.set(new, "rend", &rend);
                }
                self.t.append(pe, new);
            }
            self.t.set_tag(child, "done");
        }
        self.t.set_tag(e, "done");
        if self.is_text_element(pe) {
            if let Some(rend) = self.t.get(e, "rend").map(str::to_string) {
                self.t.set(pe, "rend", &rend);
            }
            return Some(pe);
        }
        None
    }

    fn is_code_block_element(&self, e: Id) -> bool {
        if self.t.get(e, "lang").is_some_and(|l| !l.is_empty()) || self.t.tag(e) == "code" {
            return true;
        }
        if let Some(p) = self.t.parent(e) {
            if self.t.get(p, "class").unwrap_or("").contains("highlight") {
                return true;
            }
        }
        let has_code = self.t.children(e).any(|c| self.t.tag(c) == "code");
        has_code && self.t.len(e) == 1
    }

    fn handle_code_blocks(&mut self, e: Id) -> Id {
        let pe = self.t.deepcopy(e);
        for c in self.t.iter(e) {
            self.t.set_tag(c, "done");
        }
        self.t.set_tag(pe, "code");
        pe
    }

    fn handle_quotes(&mut self, e: Id) -> Option<Id> {
        if self.is_code_block_element(e) {
            return Some(self.handle_code_blocks(e));
        }
        let tag = self.t.tag(e).to_string();
        let pe = self.t.new_elem(&tag);
        let mut next = Some(e);
        while let Some(child) = next {
            next = self.t.following_any(child, e);
            if let Some(pc) = self.process_node(child) {
                let tag = self.t.tag(pc).to_string();
                let s = self.t.sub_element(pe, &tag);
                self.t.n[s].text = self.t.n[pc].text.clone();
                self.t.n[s].tail = self.t.n[pc].tail.clone();
            }
            self.t.set_tag(child, "done");
        }
        if self.is_text_element(pe) {
            self.t.strip_tags(pe, |t| t == "quote");
            return Some(pe);
        }
        None
    }

    fn handle_other_elements(&mut self, e: Id, potential: &Tags) -> Option<Id> {
        if self.t.tag(e) == "div" && self.t.get(e, "class").unwrap_or("").contains("w3-code") {
            return Some(self.handle_code_blocks(e));
        }
        if !potential.has(self.t.tag(e)) {
            return None;
        }
        if self.t.tag(e) == "div" {
            let pe = self.handle_textnode(e, false, true)?;
            if text_chars(self.t.n[pe].text.as_deref()) {
                self.t.n[pe].attrs.clear();
                if self.t.tag(pe) == "div" {
                    self.t.set_tag(pe, "p");
                }
                return Some(pe);
            }
        }
        None
    }

    fn handle_paragraphs(&mut self, e: Id, potential: &Tags) -> Option<Id> {
        self.t.n[e].attrs.clear();
        if self.t.len(e) == 0 {
            return self.process_node(e);
        }
        let tag = self.t.tag(e).to_string();
        let pe = self.t.new_elem(&tag);
        let mut next = Some(e);
        while let Some(child) = next {
            next = self.t.following_any(child, e);
            let ctag = self.t.tag(child).to_string();
            if !potential.has(&ctag) && ctag != "done" {
                continue;
            }
            if let Some(pc) = self.handle_textnode(child, false, true) {
                if self.t.tag(pc) == "p" {
                    let add = self.t.n[pc].text.clone();
                    let slot = &mut self.t.n[pe].text;
                    if truthy(slot) {
                        match add {
                            Some(a) => {
                                let s = slot.as_mut().expect("truthy");
                                s.push(' ');
                                s.push_str(&a);
                            }
                            None => self.failed = true,
                        }
                    } else {
                        *slot = add;
                    }
                    self.t.set_tag(child, "done");
                    continue;
                }
                let newsub = self.t.new_elem(&ctag);
                if matches!(self.t.tag(pc), "hi" | "ref") {
                    if self.t.len(pc) > 0 {
                        for item in self.t.children(pc).collect::<Vec<_>>() {
                            if text_chars(self.t.n[item].text.as_deref()) {
                                let t = self.t.n[item].text.take().unwrap_or_default();
                                self.t.n[item].text = Some(format!(" {t}"));
                            }
                            let itag = self.t.tag(item).to_string();
                            self.t.strip_tags(pc, |t| t == itag);
                        }
                    }
                    if ctag == "hi" {
                        let rend = self.t.get(child, "rend").unwrap_or("").to_string();
                        self.t.set(newsub, "rend", &rend);
                    } else if ctag == "ref" {
                        if let Some(target) = self.t.get(child, "target").map(str::to_string) {
                            self.t.set(newsub, "target", &target);
                        }
                    }
                }
                self.t.n[newsub].text = self.t.n[pc].text.clone();
                self.t.n[newsub].tail = self.t.n[pc].tail.clone();
                self.t.append(pe, newsub);
            }
            self.t.set_tag(child, "done");
        }
        if let Some(last) = self.t.last_child(pe) {
            if self.t.tag(last) == "lb" && self.t.n[last].tail.is_none() {
                self.t.detach(last);
            }
            return Some(pe);
        }
        if truthy(&self.t.n[pe].text) {
            return Some(pe);
        }
        None
    }

    fn handle_table(&mut self, table: Id, potential: &Tags) -> Option<Id> {
        let newtable = self.t.new_elem("table");
        self.t.strip_tags(table, |t| matches!(t, "thead" | "tbody" | "tfoot"));
        let mut max_cols = 0i64;
        for tr in self.t.iter(table) {
            if self.t.tag(tr) != "tr" {
                continue;
            }
            let mut sum = 0i64;
            for td in self.t.iter(tr) {
                if matches!(self.t.tag(td), "td" | "th") {
                    match self.t.get(td, "colspan") {
                        None => sum += 1,
                        Some(v) => match py_strip(v).parse::<i64>() {
                            Ok(n) => sum += n,
                            Err(_) => {
                                self.failed = true;
                                return None;
                            }
                        },
                    }
                }
            }
            max_cols = max_cols.max(sum);
        }
        let (mut seen_header_row, mut seen_header) = (false, false);
        let span = (max_cols > 1).then(|| max_cols.to_string());
        let new_row = |t: &mut Tree| {
            let r = t.new_elem("row");
            if let Some(s) = &span {
                t.set(r, "span", s);
            }
            r
        };
        let mut newrow = new_row(&mut self.t);
        let mut next = self.t.following_any(table, table);
        let mut extended = potential.clone();
        extended.add("div");
        while let Some(sub) = next {
            next = self.t.following_any(sub, table);
            let tag = self.t.tag(sub).to_string();
            if tag == "tr" {
                if self.t.len(newrow) > 0 {
                    self.t.append(newtable, newrow);
                    newrow = new_row(&mut self.t);
                    seen_header_row = seen_header_row || seen_header;
                }
            } else if tag == "td" || tag == "th" {
                let is_header = tag == "th" && !seen_header_row;
                seen_header = seen_header || is_header;
                let cell = self.t.new_elem("cell");
                if is_header {
                    self.t.set(cell, "role", "head");
                }
                if self.t.len(sub) == 0 {
                    if let Some(pc) = self.process_node(sub) {
                        self.t.n[cell].text = self.t.n[pc].text.clone();
                        self.t.n[cell].tail = self.t.n[pc].tail.clone();
                    }
                } else {
                    self.t.n[cell].text = self.t.n[sub].text.clone();
                    self.t.n[cell].tail = self.t.n[sub].tail.clone();
                    self.t.set_tag(sub, "done");
                    let mut inner = self.t.following_any(sub, sub);
                    while let Some(child) = inner {
                        inner = self.t.following_any(child, sub);
                        let ctag = self.t.tag(child).to_string();
                        let ps = if matches!(ctag.as_str(), "td" | "th" | "hi") {
                            if ctag != "hi" {
                                self.t.set_tag(child, "cell");
                            }
                            self.handle_textnode(child, true, true)
                        } else {
                            self.handle_textelem(child, &extended)
                        };
                        if let Some(ps) = ps {
                            let ptag = self.t.tag(ps).to_string();
                            let s = self.t.sub_element(cell, &ptag);
                            self.t.n[s].text = self.t.n[ps].text.clone();
                            self.t.n[s].tail = self.t.n[ps].tail.clone();
                        }
                        self.t.set_tag(child, "done");
                    }
                }
                if truthy(&self.t.n[cell].text) || self.t.len(cell) > 0 {
                    self.t.append(newrow, cell);
                }
            } else if tag == "table" {
                break;
            }
            self.t.set_tag(sub, "done");
        }
        self.t.n[newrow].attrs.retain(|(k, _)| k != "span");
        if self.t.len(newrow) > 0 {
            self.t.append(newtable, newrow);
        }
        (self.t.len(newtable) > 0).then_some(newtable)
    }

    fn handle_textelem(&mut self, e: Id, potential: &Tags) -> Option<Id> {
        let tag = self.t.tag(e).to_string();
        match tag.as_str() {
            "list" => self.handle_lists(e),
            "code" | "quote" => self.handle_quotes(e),
            "head" => self.handle_titles(e),
            "p" => self.handle_paragraphs(e, potential),
            "lb" => {
                if text_chars(self.t.n[e].tail.as_deref()) {
                    if let Some(e) = self.process_node(e) {
                        let p = self.t.new_elem("p");
                        self.t.n[p].text = self.t.n[e].tail.clone();
                        return Some(p);
                    }
                }
                None
            }
            "hi" | "ref" | "span" => self.handle_formatting(e),
            "table" if potential.has("table") => self.handle_table(e, potential),
            _ => self.handle_other_elements(e, potential),
        }
    }

    fn prune_unwanted_sections(&mut self, tree: Id) -> Id {
        let mut tree = self.prune_unwanted_nodes(tree, &[overall_discard_1, overall_discard_2], true);
        tree = self.prune_unwanted_nodes(tree, &[paywall_xpath], false);
        tree = self.prune_unwanted_nodes(tree, &[discard_image_xpath], false);
        tree = self.prune_unwanted_nodes(tree, &[teaser_xpath], false);
        if self.precision {
            tree = self.prune_unwanted_nodes(tree, &[precision_discard_1, precision_discard_2], false);
        }
        let precision = self.precision;
        self.delete_by_link_density(tree, "div", true, precision);
        self.delete_by_link_density(tree, "list", false, precision);
        self.delete_by_link_density(tree, "p", false, precision);
        if precision {
            while let Some(last) = self.t.last_child(tree) {
                if self.t.tag(last) != "head" {
                    break;
                }
                self.t.detach(last);
            }
            self.delete_by_link_density(tree, "head", false, false);
            self.delete_by_link_density(tree, "quote", false, false);
        }
        tree
    }

    /// `len(''.join(tree.xpath('//p//text()')))` and whether the list is empty.
    fn p_text(&self, tree: Id) -> (bool, usize) {
        let root = self.t.root_of(tree);
        let (mut any, mut len) = (false, 0);
        // (element, inside a p)
        let mut stack = vec![(root, false)];
        while let Some((e, in_p)) = stack.pop() {
            let inside = in_p || self.t.tag(e) == "p";
            if inside {
                if let Some(t) = &self.t.n[e].text {
                    any = true;
                    len += py_len(t);
                }
            }
            for c in self.t.children(e) {
                if inside {
                    if let Some(t) = &self.t.n[c].tail {
                        any = true;
                        len += py_len(t);
                    }
                }
                stack.push((c, inside));
            }
        }
        (any, len)
    }

    fn first_match(&self, tree: Id, expr: fn(&A<'_>) -> bool) -> Option<Id> {
        self.t.descendants(tree).into_iter().find(|&e| expr(&self.attrs(e)))
    }

    fn extract_inner(&mut self, tree: Id) -> (Id, usize, Tags) {
        let mut potential = Tags(TAG_CATALOG.to_vec());
        for t in ["table", "td", "th", "tr"] {
            potential.add(t);
        }
        let body = self.t.new_elem("body");
        for expr in BODY_XPATH {
            let Some(subtree) = self.first_match(tree, expr) else { continue };
            let subtree = self.prune_unwanted_sections(subtree);
            // Removing a table while walking: lxml's walk already holds the next table, which may sit
            // inside the removed one; reproduce it by walking live.
            let mut next = if self.t.tag(subtree) == "table" {
                Some(subtree)
            } else {
                self.t.following_match_pub(subtree, subtree, |t| t == "table")
            };
            while let Some(e) = next {
                next = self.t.following_match_pub(e, subtree, |t| t == "table");
                if self.link_density_test_tables(e) {
                    self.t.detach(e);
                }
            }
            if self.t.len(subtree) == 0 {
                continue;
            }
            let (any, len) = self.p_text(subtree);
            if !any || len < MIN_EXTRACTED_SIZE * if self.precision { 1 } else { 3 } {
                potential.add("div");
            }
            self.t.strip_tags(subtree, |t| t == "ref");
            self.t.strip_tags(subtree, |t| t == "span");
            let mut subelems = self.t.descendants(subtree);
            if !subelems.is_empty() && subelems.iter().all(|&e| self.t.tag(e) == "lb") {
                subelems = vec![subtree];
            }
            let results: Vec<Id> =
                subelems.into_iter().filter_map(|e| self.handle_textelem(e, &potential)).collect();
            for r in results {
                self.t.append(body, r);
            }
            while let Some(last) = self.t.last_child(body) {
                if !matches!(self.t.tag(last), "head" | "ref") {
                    break;
                }
                self.t.detach(last);
            }
            if self.t.len(body) > 1 {
                break;
            }
        }
        let len = py_len(py_strip(&self.t.joined_text(body)));
        (body, len, potential)
    }

    fn recover_wild_text(&mut self, tree: Id, body: Id, potential: &Tags) {
        let search = self.prune_unwanted_sections(tree);
        if !potential.has("ref") {
            self.t.strip_tags(search, |t| matches!(t, "a" | "ref" | "span"));
        } else {
            self.t.strip_tags(search, |t| t == "span");
        }
        let subelems: Vec<Id> = self
            .t
            .descendants(search)
            .into_iter()
            .filter(|&e| {
                let a = self.attrs(e);
                matches!(a.tag, "blockquote" | "code" | "p" | "pre" | "q" | "quote" | "table")
                    || (a.tag == "div" && a.has("class", "w3-code"))
            })
            .collect();
        for e in subelems {
            if let Some(r) = self.handle_textelem(e, potential) {
                self.t.append(body, r);
            }
        }
    }

    /// `_extract` on the `cleaned` tree. Python copies the tree first for the wild-text recovery;
    /// that copy is rebuilt from `raw` (the page before cleaning) only when the recovery runs.
    fn extract_content(&mut self, cleaned: Id, raw: Id) -> (Id, usize) {
        let (body, mut len, potential) = self.extract_inner(cleaned);
        if self.t.len(body) == 0 || len < MIN_EXTRACTED_SIZE {
            let backup = self.t.deepcopy(raw);
            self.clean_and_convert(backup);
            self.recover_wild_text(backup, body, &potential);
            len = py_len(py_strip(&self.t.joined_text(body)));
        }
        self.t.strip_elements(body, |t| t == "done");
        self.t.strip_tags(body, |t| t == "div");
        (body, len)
    }

    // ----- external.py -----

    /// `compare_extraction`: `Some((body, len))` when the readability article replaces the body.
    fn compare_extraction(
        &mut self,
        html: &str,
        backup: Id,
        body: Id,
        len_text: usize,
    ) -> Option<(Id, usize)> {
        // jusText reads the page as it was before the pruning below. When the extracted body already
        // calls for jusText (as it will unless readability replaces it), keep a copy of it now;
        // otherwise the page is parsed again if jusText turns out to be needed.
        let jt_source =
            (len_text < MIN_EXTRACTED_SIZE || self.holds_sanitized(body)).then(|| self.t.deepcopy(backup));
        let mut backup = self.prune_unwanted_nodes(backup, &[paywall_xpath], false);
        if self.precision {
            backup = self.prune_unwanted_nodes(backup, &[overall_discard_1, overall_discard_2], false);
        }
        let article = crate::readability_lxml::try_readability_tree(&self.t, backup);
        let algo_text = article.text.clone();
        let len_algo = py_len(&algo_text);
        let use_readability = if len_algo == 0 || len_algo == len_text {
            false
        } else if len_text == 0 {
            true
        } else if len_text > 2 * len_algo {
            false
        } else if (len_algo > 2 * len_text && !algo_text.starts_with('{'))
            || (!self.p_text_under(body) && len_algo > MIN_EXTRACTED_SIZE * 2)
        {
            // Python's two branches, in its order: much longer, or no <p> text in the body.
            true
        } else {
            let count =
                |tag: &str| self.t.descendants(body).iter().filter(|&&e| self.t.tag(e) == tag).count();
            count("table") > count("p") && len_algo > MIN_EXTRACTED_SIZE * 2
        };
        let mut chosen = None;
        if use_readability {
            let (t2, root) = Tree::parse(&article.html);
            chosen = Some((self.graft(&t2, root), len_algo));
        }
        let (cur_body, cur_len) = chosen.unwrap_or((body, len_text));
        // The second fallback: jusText, when the body still holds boilerplate elements or is short.
        let mut jt_result = false;
        if cur_len < MIN_EXTRACTED_SIZE || self.holds_sanitized(cur_body) {
            if let Some((jt_body, jt_len)) = self.justext_rescue(html, jt_source) {
                jt_result = true;
                // "prevent too short documents from replacing the main text"
                if cur_len <= 4 * jt_len {
                    chosen = Some((jt_body, jt_len));
                }
            }
        }
        if use_readability && !jt_result {
            return Some(self.sanitize_tree(cur_body));
        }
        chosen
    }

    /// jusText's paragraphs of `tree` (the page's tree, changed in place) after `tree_cleaning` and
    /// the paywall and comment-section pruning.
    fn justext_on(&mut self, tree: Id) -> Vec<(String, bool)> {
        let cleaned = self.tree_cleaning(tree);
        self.prune_unwanted_nodes(cleaned, &[paywall_xpath], false);
        self.prune_unwanted_nodes(cleaned, &[remove_comments_xpath], false);
        crate::justext::paragraphs(&self.t, cleaned)
    }

    /// `body.xpath(SANITIZED_XPATH)` is not empty.
    fn holds_sanitized(&self, body: Id) -> bool {
        self.t.descendants(body).into_iter().any(|e| SANITIZED.contains(&self.t.tag(e)))
    }

    /// `justext_rescue(cleaned_tree_backup, ...)`: jusText's good paragraphs, each in a `<p>` of a
    /// new `<body>`, when they hold any text. The cleaned tree is `source` (an untouched copy of the
    /// page's tree) cleaned, or the page parsed again and cleaned.
    fn justext_rescue(&mut self, html: &str, source: Option<Id>) -> Option<(Id, usize)> {
        let paragraphs = match source {
            Some(tree) => self.justext_on(tree),
            None => justext_paragraphs_of(html, self.precision),
        };
        let body = self.t.new_elem("body");
        for (text, _) in paragraphs.into_iter().filter(|(_, good)| *good) {
            let p = self.t.sub_element(body, "p");
            self.t.n[p].text = Some(text);
        }
        let len = py_len(&trim(&self.t.joined_text(body)));
        (len > 0).then_some((body, len))
    }

    /// Whether `body.xpath('.//p//text()')` is non-empty (p elements under `body`).
    fn p_text_under(&self, body: Id) -> bool {
        self.t.descendants(body).into_iter().any(|e| {
            self.t.tag(e) == "p" && {
                let mut any = self.t.n[e].text.is_some();
                for d in self.t.descendants(e) {
                    any = any || self.t.n[d].text.is_some() || self.t.n[d].tail.is_some();
                }
                any
            }
        })
    }

    /// Copies the readability article (the `<div>` in the parsed summary's body) into this tree.
    fn graft(&mut self, other: &Tree, root: Id) -> Id {
        // lxml.html's `fromstring` on the summary: its single element, or the body renamed `div`.
        let body = other.children(root).find(|&c| other.tag(c) == "body").unwrap_or(root);
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| py_strip(s).is_empty());
        let first = other.first_child(body);
        let single = other.len(body) == 1
            && blank(&other.n[body].text)
            && first.is_some_and(|k| blank(&other.n[k].tail));
        let src = match first {
            Some(k) if single => k,
            _ => body,
        };
        // Copy every node of `other` (simplest: ids shift by `offset`).
        let src = src + self.t.absorb(other);
        if !single {
            self.t.set_tag(src, "div");
        }
        self.t.detach(src);
        self.t.n[src].tail = None;
        src
    }

    fn sanitize_tree(&mut self, tree: Id) -> (Id, usize) {
        // tree_cleaning
        let tree = self.tree_cleaning(tree);
        // Python removes `tree.findall(SANITIZED_XPATH)` here, but ElementPath's `findall` does not
        // know XPath's `|` and finds nothing: no element is removed.
        self.t.strip_tags(tree, |t| t == "a");
        self.t.strip_tags(tree, |t| t == "span");
        self.convert_tags(tree);
        for e in self.t.iter(tree) {
            match self.t.tag(e) {
                "tr" => self.t.set_tag(e, "row"),
                "td" => self.t.set_tag(e, "cell"),
                "th" => {
                    self.t.set(e, "role", "head");
                    self.t.set_tag(e, "cell");
                }
                _ => {}
            }
        }
        self.t.strip_tags(tree, |t| !TEI_VALID_TAGS.contains(&t));
        let text = trim(&self.t.joined_text(tree));
        (tree, py_len(&text))
    }

    // ----- xml.py -----

    fn xmltotxt(&self, body: Id) -> String {
        let mut out = String::new();
        self.process_element(body, &mut out, false);
        crate::totext::sanitize_text(&crate::totext::unescape(&out))
    }

    fn process_element(&self, e: Id, out: &mut String, in_cell: bool) {
        let n = &self.t.n[e];
        let tag = n.tag.as_str();
        if let Some(text) = &n.text {
            if tag == "cell"
                && !text.is_empty()
                && self.t.first_child(e).is_some_and(|c| self.t.tag(c) == "p")
            {
                out.push_str(text);
                out.push(' ');
            } else if tag == "item" && !text.is_empty() {
                out.push_str("- ");
                out.push_str(text);
                out.push('\n');
            } else {
                out.push_str(text);
            }
        }
        let child_in_cell = in_cell || tag == "cell";
        for c in self.t.children(e) {
            self.process_element(c, out, child_in_cell);
        }
        const NEWLINE: &[&str] = &["code", "graphic", "head", "lb", "list", "p", "quote", "row", "table"];
        if n.text.is_none() && n.tail.is_none() {
            if NEWLINE.contains(&tag) {
                if tag == "row" {
                    let span: i64 = self.t.get(e, "span").and_then(|s| py_strip(s).parse().ok()).unwrap_or(1);
                    let cells =
                        self.t.descendants(e).iter().filter(|&&d| self.t.tag(d) == "cell").count() as i64;
                    for _ in 0..(span - cells).max(0) {
                        out.push('|');
                    }
                    out.push('\n');
                    let head = self
                        .t
                        .children(e)
                        .any(|c| self.t.tag(c) == "cell" && self.t.get(c, "role") == Some("head"));
                    if head {
                        out.push('\n');
                        for _ in 0..span.max(0) {
                            out.push_str("---|");
                        }
                        out.push('\n');
                    }
                } else {
                    out.push('\n');
                }
            } else if tag != "cell" {
                return;
            }
        }
        if NEWLINE.contains(&tag) && !in_cell {
            out.push_str("\n\n");
        } else if tag == "cell" {
            out.push_str(" | ");
        } else if !matches!(tag, "del" | "head" | "hi" | "ref") {
            out.push(' ');
        }
        if let Some(tail) = &n.tail {
            out.push_str(tail);
        }
    }
}

/// `normalize_unicode` (NFC), skipped when the text is already NFC.
fn nfc(text: String) -> String {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return text;
    }
    text.nfc().collect()
}
