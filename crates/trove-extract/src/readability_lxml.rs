//! The readability fallback Python trafilatura 1.11 compares its extraction with: its fork of
//! python-readability (`trafilatura/readability_lxml.py`, arc90's algorithm), ported.
//!
//! The port works on a small arena DOM with lxml's semantics where the algorithm depends on them: an
//! element's leading text and tails (`drop_tree` joins the tail to the text before), comments as
//! children, and `//` paths searching the whole tree the article lives in. On the 3,302 pages of the
//! debian-handbook (26 languages) and the fixture WARCs' pages, the article text equals Python's.

use scraper::node::Node as HtmlNode;
use scraper::Html;
use trove_core::hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::links::{self, Children, Id, Linked, Links};

enum Kind {
    Element { tag: String, attrs: Vec<(String, String)> },
    Text(String),
    Comment(String),
}

/// A node; its children are a linked list ([`crate::links`]).
struct Node {
    kind: Kind,
    links: Links,
}

impl Linked for Node {
    fn links(&self) -> &Links {
        &self.links
    }
    fn links_mut(&mut self) -> &mut Links {
        &mut self.links
    }
}

struct Dom {
    nodes: Vec<Node>,
}

const UNLIKELY: &[&str] = &[
    "combx",
    "comment",
    "community",
    "disqus",
    "extra",
    "foot",
    "header",
    "menu",
    "remark",
    "rss",
    "shoutbox",
    "sidebar",
    "sponsor",
    "ad-break",
    "agegate",
    "pagination",
    "pager",
    "popup",
    "tweet",
    "twitter",
];
const MAYBE_CANDIDATE: &[&str] = &["and", "article", "body", "column", "main", "shadow"];
const POSITIVE: &[&str] = &[
    "article",
    "body",
    "content",
    "entry",
    "hentry",
    "main",
    "page",
    "pagination",
    "post",
    "text",
    "blog",
    "story",
];
const NEGATIVE: &[&str] = &[
    "button", "combx", "comment", "com-", "contact", "figure", "foot", "footer", "footnote", "form", "input",
    "masthead", "media", "meta", "outbrain", "promo", "related", "scroll", "shoutbox", "sidebar", "sponsor",
    "shopping", "tags", "tool", "widget",
];
/// `divToPElementsRe` = `<(?:a|blockquote|dl|div|img|ol|p|pre|table|ul)`: tag-name prefixes.
const DIV_TO_P_PREFIXES: &[&str] = &["a", "blockquote", "dl", "div", "img", "ol", "p", "table", "ul"];
const MIN_TEXT_LENGTH: usize = 25;
/// Deepest nesting copied: deeper elements are left out, so hostile nesting cannot overflow the stack.
const MAX_DEPTH: usize = 500;
const RETRY_LENGTH: usize = 250;

/// `re.search(pattern, s, re.I)` for a pattern of literal alternatives.
fn search(words: &[&str], s: &str) -> bool {
    let lower = s.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

/// Python trafilatura's `trim` length: characters after collapsing whitespace.
fn trim_len(text: &str) -> usize {
    let mut n = 0;
    for word in text.split_whitespace() {
        if n > 0 {
            n += 1;
        }
        n += word.chars().count();
    }
    n
}

/// Counts the characters of trafilatura's `trim` of a text fed in pieces.
#[derive(Default)]
struct TrimCounter {
    len: usize,
    space: bool,
}

impl TrimCounter {
    fn feed(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.space = self.len > 0;
            } else {
                if self.space {
                    self.len += 1;
                    self.space = false;
                }
                self.len += 1;
            }
        }
    }
}

/// Python's `len(text.split(","))`.
fn comma_pieces(text: &str) -> usize {
    text.matches(',').count() + 1
}

impl Dom {
    fn from_html(html: &Html) -> Option<(Dom, Id)> {
        let mut dom = Dom { nodes: Vec::new() };
        let root = html.root_element();
        let id = dom.copy(root.id(), html, None, 0)?;
        Some((dom, id))
    }

    /// The DOM of an lxml-model tree ([`crate::etree`]): an element's text becomes its first text
    /// node, each child's tail a text node after it. Python trafilatura hands its tree to readability
    /// as it is, so no serialisation and reparse happens between them either.
    fn from_etree(t: &crate::etree::Tree, root: crate::etree::Id) -> (Dom, Id) {
        let mut dom = Dom { nodes: Vec::with_capacity(t.n.len() * 2) };
        let text = |dom: &mut Dom, s: &Option<String>, parent: Id| {
            if let Some(s) = s.as_deref().filter(|s| !s.is_empty()) {
                let id = dom.new_node(Kind::Text(s.to_string()));
                dom.append(parent, id);
            }
        };
        let element = |dom: &mut Dom, e: crate::etree::Id, parent: Option<Id>| {
            let kind = Kind::Element { tag: t.n[e].tag.to_string(), attrs: t.n[e].attrs.clone() };
            let id = dom.new_node(kind);
            if let Some(p) = parent {
                dom.append(p, id);
            }
            text(dom, &t.n[e].text, id);
            id
        };
        let top = element(&mut dom, root, None);
        // Node ids in document order, as `copy` gives them: a child's tail after its subtree.
        enum Step {
            // The next child to copy (if any) and the copy of its parent.
            Children(Option<crate::etree::Id>, Id),
            Tail(crate::etree::Id, Id),
        }
        let mut stack = vec![Step::Children(t.first_child(root), top)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Children(child, to) => {
                    let Some(child) = child else { continue };
                    stack.push(Step::Children(t.next(child), to));
                    stack.push(Step::Tail(child, to));
                    let c = element(&mut dom, child, Some(to));
                    stack.push(Step::Children(t.first_child(child), c));
                }
                Step::Tail(child, parent) => text(&mut dom, &t.n[child].tail, parent),
            }
        }
        (dom, top)
    }

    /// Copies the subtree at `from`; elements nested deeper than [`MAX_DEPTH`] are left out, so that
    /// the recursive walks stay within the stack on hostile pages.
    fn copy(&mut self, from: ego_tree::NodeId, html: &Html, parent: Option<Id>, depth: usize) -> Option<Id> {
        if depth > MAX_DEPTH {
            return None;
        }
        let node = html.tree.get(from)?;
        let kind = match node.value() {
            HtmlNode::Element(e) => Kind::Element {
                tag: e.name().to_string(),
                attrs: e.attrs().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            },
            HtmlNode::Text(t) => Kind::Text(t.text.to_string()),
            HtmlNode::Comment(c) => Kind::Comment(c.comment.to_string()),
            _ => return None,
        };
        let id = self.new_node(kind);
        if let Some(p) = parent {
            self.append(p, id);
        }
        for child in node.children() {
            self.copy(child.id(), html, Some(id), depth + 1);
        }
        Some(id)
    }

    fn tag(&self, id: Id) -> Option<&str> {
        match &self.nodes[id].kind {
            Kind::Element { tag, .. } => Some(tag),
            _ => None,
        }
    }

    fn attr(&self, id: Id, name: &str) -> Option<&str> {
        match &self.nodes[id].kind {
            Kind::Element { attrs, .. } => attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    fn is_text(&self, id: Id) -> bool {
        matches!(self.nodes[id].kind, Kind::Text(_))
    }

    /// Elements (not text, not comments) under `id` in document order, `id` included.
    fn elements(&self, id: Id, out: &mut Vec<Id>) {
        if self.tag(id).is_some() {
            out.push(id);
            for c in self.children(id) {
                self.elements(c, out);
            }
        }
    }

    /// `root.iter(*tags)`.
    fn iter_tags(&self, root: Id, tags: &[&str]) -> Vec<Id> {
        let mut all = Vec::new();
        self.elements(root, &mut all);
        all.retain(|&e| self.tag(e).is_some_and(|t| tags.contains(&t)));
        all
    }

    /// lxml's `text_content()` of an element (descendant text, no comments), or a comment's text.
    fn text_content(&self, id: Id) -> String {
        let mut out = String::new();
        match &self.nodes[id].kind {
            Kind::Comment(c) => out.push_str(c),
            _ => self.collect_text(id, &mut out),
        }
        out
    }

    fn collect_text(&self, id: Id, out: &mut String) {
        match &self.nodes[id].kind {
            Kind::Text(t) => out.push_str(t),
            Kind::Element { .. } => {
                for c in self.children(id) {
                    self.collect_text(c, out);
                }
            }
            Kind::Comment(_) => {}
        }
    }

    /// `len(trim(text_content()))`, without building the text.
    fn text_length(&self, id: Id) -> usize {
        let mut counter = TrimCounter::default();
        match &self.nodes[id].kind {
            Kind::Comment(c) => counter.feed(c),
            _ => self.feed_text(id, &mut counter),
        }
        counter.len
    }

    fn feed_text(&self, id: Id, counter: &mut TrimCounter) {
        match &self.nodes[id].kind {
            Kind::Text(t) => counter.feed(t),
            Kind::Element { .. } => {
                for c in self.children(id) {
                    self.feed_text(c, counter);
                }
            }
            Kind::Comment(_) => {}
        }
    }

    /// Commas in `text_content()`.
    fn commas(&self, id: Id) -> usize {
        match &self.nodes[id].kind {
            Kind::Text(t) => t.bytes().filter(|&b| b == b',').count(),
            Kind::Element { .. } => self.children(id).map(|c| self.commas(c)).sum(),
            Kind::Comment(_) => 0,
        }
    }

    /// The element's leading text (lxml's `.text`): a first child that is text.
    fn lead_text(&self, id: Id) -> Option<Id> {
        self.nodes[id].links.first.filter(|&c| self.is_text(c))
    }

    /// The children of `id` in order.
    fn children(&self, id: Id) -> Children<'_, Node> {
        Children::of(&self.nodes, id)
    }

    fn parent(&self, id: Id) -> Option<Id> {
        self.nodes[id].links.parent
    }

    /// The element children of `id` (text nodes left out).
    fn element_children(&self, id: Id) -> Vec<Id> {
        self.children(id).filter(|&c| !self.is_text(c)).collect()
    }

    /// The element siblings after (`forward`) or before `id`, nearest first.
    fn element_siblings(&self, id: Id, forward: bool) -> impl Iterator<Item = Id> + '_ {
        let step = move |c: &Id| {
            let l = &self.nodes[*c].links;
            if forward {
                l.next
            } else {
                l.prev
            }
        };
        std::iter::successors(step(&id), step).filter(|&c| !self.is_text(c))
    }

    /// The text right after `id` among its parent's children (lxml's `.tail`).
    fn tail(&self, id: Id) -> Option<Id> {
        self.nodes[id].links.next.filter(|&c| self.is_text(c))
    }

    fn detach(&mut self, id: Id) {
        links::unlink(&mut self.nodes, id);
    }

    /// `drop_tree()`: the element goes, its tail joins the text before it (lxml has no two texts in
    /// a row, and the algorithm reads `.text` and `.tail`).
    fn drop_tree(&mut self, id: Id) {
        let Links { parent, prev, next, .. } = self.nodes[id].links;
        if parent.is_none() {
            return;
        }
        self.detach(id);
        let (Some(before), Some(after)) = (prev, next) else { return };
        if let (Kind::Text(_), Kind::Text(tail)) = (&self.nodes[before].kind, &self.nodes[after].kind) {
            let tail = tail.clone();
            if let Kind::Text(text) = &mut self.nodes[before].kind {
                text.push_str(&tail);
            }
            self.detach(after);
        }
    }

    fn new_node(&mut self, kind: Kind) -> Id {
        self.nodes.push(Node { kind, links: Links::default() });
        self.nodes.len() - 1
    }

    fn append(&mut self, parent: Id, child: Id) {
        links::link(&mut self.nodes, parent, None, child);
    }

    /// A new `<p>` in place of the text node `text`, holding it.
    fn wrap_in_p(&mut self, text: Id) {
        let Some(parent) = self.parent(text) else { return };
        let p = self.new_node(Kind::Element { tag: "p".into(), attrs: Vec::new() });
        links::link(&mut self.nodes, parent, Some(text), p);
        self.detach(text);
        self.append(p, text);
    }

    fn root_of(&self, mut id: Id) -> Id {
        while let Some(p) = self.parent(id) {
            id = p;
        }
        id
    }

    fn class_weight(&self, id: Id) -> i32 {
        let mut weight = 0;
        for value in [self.attr(id, "class"), self.attr(id, "id")].into_iter().flatten() {
            if value.is_empty() {
                continue;
            }
            if search(NEGATIVE, value) {
                weight -= 25;
            }
            if search(POSITIVE, value) {
                weight += 25;
            }
        }
        weight
    }

    fn link_density(&self, id: Id) -> f64 {
        let total = self.text_length(id).max(1);
        let links: usize =
            self.iter_tags(id, &["a"]).into_iter().filter(|&a| a != id).map(|a| self.text_length(a)).sum();
        links as f64 / total as f64
    }

    fn serialize(&self, id: Id, out: &mut String) {
        match &self.nodes[id].kind {
            Kind::Text(t) => escape(t, false, out),
            Kind::Comment(c) => {
                out.push_str("<!--");
                out.push_str(c);
                out.push_str("-->");
            }
            Kind::Element { tag, attrs } => {
                out.push('<');
                out.push_str(tag);
                for (k, v) in attrs {
                    out.push(' ');
                    out.push_str(k);
                    out.push_str("=\"");
                    escape(v, true, out);
                    out.push('"');
                }
                out.push('>');
                // A parser drops the line break right after `<pre>`: a second one keeps it.
                if matches!(tag.as_str(), "pre" | "listing" | "textarea")
                    && self.lead_text(id).is_some_and(|t| self.text_content(t).starts_with('\n'))
                {
                    out.push('\n');
                }
                if matches!(
                    tag.as_str(),
                    "br" | "hr" | "img" | "input" | "meta" | "link" | "wbr" | "col" | "source"
                ) {
                    return;
                }
                for c in self.children(id) {
                    self.serialize(c, out);
                }
                out.push_str("</");
                out.push_str(tag);
                out.push('>');
            }
        }
    }
}

fn escape(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Candidates in insertion order with their scores.
#[derive(Default)]
struct Candidates {
    order: Vec<Id>,
    score: HashMap<Id, f64>,
}

struct Readability {
    dom: Dom,
    doc: Id,
}

impl Readability {
    fn remove_unlikely_candidates(&mut self) {
        let mut all = Vec::new();
        self.dom.elements(self.doc, &mut all);
        for e in all.into_iter().filter(|&e| e != self.doc) {
            let attrs: Vec<&str> = [self.dom.attr(e, "class"), self.dom.attr(e, "id")]
                .into_iter()
                .flatten()
                .filter(|v| !v.is_empty())
                .collect();
            let attrs = attrs.join(" ");
            if attrs.chars().count() < 2 {
                continue;
            }
            let tag = self.dom.tag(e).unwrap_or("");
            if tag != "body" && tag != "html" && search(UNLIKELY, &attrs) && !search(MAYBE_CANDIDATE, &attrs)
            {
                self.dom.drop_tree(e);
            }
        }
    }

    fn transform_misused_divs_into_paragraphs(&mut self) {
        let divs: Vec<Id> =
            self.dom.iter_tags(self.doc, &["div"]).into_iter().filter(|&d| d != self.doc).collect();
        for &div in &divs {
            let mut inside = Vec::new();
            for child in self.dom.children(div) {
                self.dom.elements(child, &mut inside);
            }
            let blocky = inside.iter().any(|&e| {
                let tag = self.dom.tag(e).unwrap_or("");
                DIV_TO_P_PREFIXES.iter().any(|p| tag.starts_with(p))
            });
            if !blocky {
                if let Kind::Element { tag, .. } = &mut self.dom.nodes[div].kind {
                    *tag = "p".into();
                }
            }
        }
        let divs: Vec<Id> =
            self.dom.iter_tags(self.doc, &["div"]).into_iter().filter(|&d| d != self.doc).collect();
        for div in divs {
            if let Some(text) = self.dom.lead_text(div) {
                if !self.dom.text_content(text).trim().is_empty() {
                    self.dom.wrap_in_p(text);
                }
            }
            let children = self.dom.element_children(div);
            for child in children.into_iter().rev() {
                if let Some(tail) = self.dom.tail(child) {
                    if !self.dom.text_content(tail).trim().is_empty() {
                        self.dom.wrap_in_p(tail);
                    }
                }
                if self.dom.tag(child) == Some("br") {
                    self.dom.drop_tree(child);
                }
            }
        }
    }

    fn score_node(&self, id: Id) -> f64 {
        let weight = self.dom.class_weight(id) as f64;
        let tag = self.dom.tag(id).unwrap_or("");
        weight
            + match tag {
                "div" | "article" => 5.0,
                "pre" | "td" | "blockquote" => 3.0,
                "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" | "aside" => -3.0,
                "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" | "header" | "footer" | "nav" => -5.0,
                _ => 0.0,
            }
    }

    fn score_paragraphs(&self) -> Candidates {
        let mut candidates = Candidates::default();
        for elem in self.dom.iter_tags(self.doc, &["p", "pre", "td"]) {
            let Some(parent) = self.dom.parent(elem) else { continue };
            let grand_parent = self.dom.parent(parent);
            let text = self.dom.text_content(elem);
            let len = trim_len(&text);
            if len < MIN_TEXT_LENGTH {
                continue;
            }
            for node in [Some(parent), grand_parent].into_iter().flatten() {
                if !candidates.score.contains_key(&node) {
                    candidates.order.push(node);
                    candidates.score.insert(node, self.score_node(node));
                }
            }
            // `len(elem_text.split(","))` on the trimmed text: trimming moves no comma.
            let score = 1.0 + comma_pieces(&text) as f64 + (len as f64 / 100.0).min(3.0);
            *candidates.score.entry(parent).or_default() += score;
            if let Some(g) = grand_parent {
                *candidates.score.entry(g).or_default() += score / 2.0;
            }
        }
        for &id in &candidates.order {
            let density = self.dom.link_density(id);
            if let Some(s) = candidates.score.get_mut(&id) {
                *s *= 1.0 - density;
            }
        }
        candidates
    }

    fn best_candidate(candidates: &Candidates) -> Option<Id> {
        let mut best: Option<(Id, f64)> = None;
        for &id in &candidates.order {
            let s = candidates.score[&id];
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((id, s));
            }
        }
        best.map(|(id, _)| id)
    }

    fn get_article(&mut self, candidates: &Candidates, best: Id) -> Id {
        let threshold = (candidates.score[&best] * 0.2).max(10.0);
        let output = self.dom.new_node(Kind::Element { tag: "div".into(), attrs: Vec::new() });
        let siblings: Vec<Id> = match self.dom.parent(best) {
            Some(p) => self.dom.element_children(p),
            None => vec![best],
        };
        for sibling in siblings {
            let mut append =
                sibling == best || candidates.score.get(&sibling).is_some_and(|&s| s >= threshold);
            if !append && self.dom.tag(sibling) == Some("p") {
                let density = self.dom.link_density(sibling);
                let content =
                    self.dom.lead_text(sibling).map(|t| self.dom.text_content(t)).unwrap_or_default();
                let len = content.chars().count();
                let sentence_end = content
                    .match_indices('.')
                    .any(|(at, _)| content[at + 1..].is_empty() || content[at + 1..].starts_with(' '));
                append = (len > 80 && density < 0.25) || (len <= 80 && density == 0.0 && sentence_end);
            }
            if append {
                let tail = self.dom.tail(sibling);
                self.dom.detach(sibling);
                self.dom.append(output, sibling);
                if let Some(tail) = tail {
                    self.dom.detach(tail);
                    self.dom.append(output, tail);
                }
            }
        }
        output
    }

    fn sanitize(&mut self, node: Id, candidates: &Candidates) -> String {
        for header in self.dom.iter_tags(node, &["h1", "h2", "h3", "h4", "h5", "h6"]) {
            if self.dom.class_weight(header) < 0 || self.dom.link_density(header) > 0.33 {
                self.dom.drop_tree(header);
            }
        }
        for elem in self.dom.iter_tags(node, &["form", "textarea"]) {
            self.dom.drop_tree(elem);
        }
        for elem in self.dom.iter_tags(node, &["iframe"]) {
            let video = self.dom.attr(elem, "src").is_some_and(|src| {
                let src = src.to_lowercase();
                (src.contains("http://") || src.contains("https://"))
                    && (src.contains("youtube.com") || src.contains("vimeo.com"))
            });
            // Python writes "VIDEO" into a kept video frame; reparsed, a frame's content is not text
            // (libxml2 drops it), so the kept frame stays empty here.
            if !video {
                self.dom.drop_tree(elem);
            }
        }
        let mut allowed = HashSet::default();
        let tree = self.dom.root_of(node);
        let cleaned =
            self.dom.iter_tags(tree, &["table", "ul", "div", "aside", "header", "footer", "section"]);
        for elem in cleaned.into_iter().rev() {
            if allowed.contains(&elem) {
                continue;
            }
            let weight = self.dom.class_weight(elem);
            let score = candidates.score.get(&elem).copied().unwrap_or(0.0);
            if weight as f64 + score < 0.0 {
                self.dom.drop_tree(elem);
                continue;
            }
            if self.dom.commas(elem) >= 10 {
                continue;
            }
            let mut inside = Vec::new();
            for c in self.dom.children(elem) {
                self.dom.elements(c, &mut inside);
            }
            let count = |kind: &str| inside.iter().filter(|&&e| self.dom.tag(e) == Some(kind)).count() as i64;
            let (p, img, li, embed) = (count("p"), count("img"), count("li") - 100, count("embed"));
            let hidden = inside
                .iter()
                .filter(|&&i| self.dom.tag(i) == Some("input") && self.dom.attr(i, "type") == Some("hidden"))
                .count() as i64;
            let input = count("input") - hidden;
            let content_length = self.dom.text_length(elem);
            let density = self.dom.link_density(elem);
            let tag = self.dom.tag(elem).unwrap_or("");
            let short = content_length < MIN_TEXT_LENGTH;
            let mut to_remove = (p > 0 && img as f64 > 1.0 + p as f64 * 1.3)
                || (li > p && tag != "ol" && tag != "ul")
                || (input as f64 > p as f64 / 3.0)
                || (short && img == 0)
                || (short && img > 2)
                || (weight < 25 && density > 0.2)
                || (weight >= 25 && density > 0.5)
                || ((embed == 1 && content_length < 75) || embed > 1);
            if !to_remove && content_length == 0 {
                to_remove = true;
                let mut siblings = Vec::new();
                if let Some(len) = self
                    .dom
                    .element_siblings(elem, true)
                    .map(|sib| self.dom.text_length(sib))
                    .find(|&len| len > 0)
                {
                    siblings.push(len);
                }
                let limit = siblings.len() + 1;
                for sib in self.dom.element_siblings(elem, false) {
                    let len = self.dom.text_length(sib);
                    if len > 0 {
                        siblings.push(len);
                        if siblings.len() >= limit {
                            break;
                        }
                    }
                }
                if !siblings.is_empty() && siblings.iter().sum::<usize>() > 1000 {
                    to_remove = false;
                    allowed.extend(self.dom.iter_tags(elem, &["table", "ul", "div", "section"]));
                }
            }
            if to_remove {
                self.dom.drop_tree(elem);
            }
        }
        self.doc = node;
        let mut out = String::new();
        self.dom.serialize(node, &mut out);
        out
    }

    fn summary(&mut self) -> String {
        for e in self.dom.iter_tags(self.doc, &["script", "style"]) {
            self.dom.drop_tree(e);
        }
        let mut ruthless = true;
        loop {
            if ruthless {
                self.remove_unlikely_candidates();
            }
            self.transform_misused_divs_into_paragraphs();
            let candidates = self.score_paragraphs();
            let article = match Self::best_candidate(&candidates) {
                Some(best) => self.get_article(&candidates, best),
                None if ruthless => {
                    ruthless = false;
                    continue;
                }
                None => self
                    .dom
                    .iter_tags(self.doc, &["body"])
                    .into_iter()
                    .find(|&b| b != self.doc)
                    .unwrap_or(self.doc),
            };
            let cleaned = self.sanitize(article, &candidates);
            if ruthless && cleaned.chars().count() < RETRY_LENGTH {
                ruthless = false;
                continue;
            }
            return cleaned;
        }
    }
}

/// What readability keeps of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// The article as HTML: a `<div>` holding the kept elements.
    pub html: String,
    /// Its text, whitespace collapsed (trafilatura's `trim` of the text serialisation).
    pub text: String,
}

/// trafilatura 1.11's `try_readability` on a page: the article, or `None` where Python gets an empty
/// `<div>` (nothing to score and nothing left, or the cleaning would drop the article itself).
///
/// ```
/// let html = "<html><body><div class=\"menu\">Home | About</div><div class=\"post\">\
///             <p>A paragraph of the article, long enough to be scored, with a comma, or two.</p>\
///             <p>Another paragraph of the article, also long enough to be scored as content.</p>\
///             </div></body></html>";
/// let article = trove_extract::readability_lxml::try_readability(html).unwrap();
/// assert!(article.text.starts_with("A paragraph of the article"));
/// assert!(!article.text.contains("Home"));
/// ```
pub fn try_readability(html: &str) -> Option<Article> {
    let parsed = Html::parse_document(&crate::inscriptis::keep_pre_newlines(html));
    let (dom, doc) = Dom::from_html(&parsed)?;
    Some(Readability { dom, doc }.article())
}

/// [`try_readability`] on an element of an lxml-model tree, as Python trafilatura calls it on its
/// backup tree.
pub(crate) fn try_readability_tree(t: &crate::etree::Tree, root: crate::etree::Id) -> Article {
    let (dom, doc) = Dom::from_etree(t, root);
    Readability { dom, doc }.article()
}

impl Readability {
    fn article(mut self) -> Article {
        let html = self.summary();
        let mut text = String::new();
        self.dom.collect_text(self.doc, &mut text);
        Article { html, text: crate::pytrafilatura::trim(&text) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::try_readability;

    #[test]
    fn deep_nesting_neither_overflows_nor_loses_the_shallow_text() {
        let paragraph = "A paragraph of the article that is long enough to be scored as content. ".repeat(3);
        let html = format!(
            "<html><body><div><p>{paragraph}</p><p>{paragraph}</p>{}x</div></body></html>",
            "<div>".repeat(20_000)
        );
        let article = try_readability(&html).unwrap();
        assert!(article.text.starts_with("A paragraph of the article"), "{}", &article.text[..80]);
    }

    #[test]
    fn wide_elements_take_linear_time() {
        // 150,000 lines split by `<br>` in one `<div>` (each tail becomes a `<p>`, each `<br>` goes)
        // and 60,000 empty `<div>`s among paragraphs (each looks for its nearest sibling with text):
        // a scan of the siblings per child made these quadratic.
        let start = std::time::Instant::now();
        let lines = "A line of text, with a comma.<br>".repeat(150_000);
        let article = try_readability(&format!("<html><body><div>{lines}</div></body></html>")).unwrap();
        assert_eq!(article.text.matches("A line of text").count(), 150_000);
        let paragraph = "<p>A paragraph of the article that is long enough to be scored, as content.</p>";
        let html = format!(
            "<html><body><div>{}</div></body></html>",
            format!("{paragraph}<div></div>").repeat(60_000)
        );
        let article = try_readability(&html).unwrap();
        assert_eq!(article.text.matches("A paragraph").count(), 60_000);
        assert!(start.elapsed().as_secs_f64() < 20.0, "{:?}", start.elapsed());
    }

    /// Expected texts from Python trafilatura 1.11's `try_readability` on the same HTML.
    #[test]
    fn keeps_what_python_readability_keeps() {
        let long = "A sentence of the article that is long enough to be scored as content. ".repeat(3);
        let commas = "A sentence of the article that is long enough, with commas, to score. ".repeat(3);
        let cases = [
            // A link-dense paragraph next to the article stays: the article's own `<div>` is the one
            // the cleaning would drop, and dropping it changes nothing.
            (
                format!("<html><body><div class=\"post\"><p>{long}</p><p><a href=\"x\">{long}</a></p></div></body></html>"),
                format!("{}{}", long.trim_end(), long.trim_end()).replace(".A", ". A"),
            ),
            // An unlikely `<span>` goes and its tail joins the paragraph's leading text, which makes
            // the paragraph long enough to be appended as a sibling of the best candidate.
            (
                format!(
                    "<html><body><div><p>Short lead <span class=\"menu\">menu item</span> and then the rest of a \
                     sentence that goes past eighty characters easily.</p><div class=\"content\"><p>{commas}</p>\
                     <p>{commas}</p></div></div></body></html>"
                ),
                format!(
                    "Short lead and then the rest of a sentence that goes past eighty characters easily.{}",
                    format!("{commas}{commas}").trim_end()
                ),
            ),
            // Divs without block children become paragraphs; text after a `<br>` becomes one; the
            // sidebar is an unlikely candidate.
            (
                format!(
                    "<html><body><div id=\"main\"><div>{commas}</div><div>{commas}<br>after the break {commas}</div>\
                     </div><div class=\"sidebar\"><p>{commas}</p></div></body></html>"
                ),
                format!("{commas}{commas}after the break {commas}").trim_end().to_string(),
            ),
        ];
        for (html, want) in cases {
            assert_eq!(try_readability(&html).unwrap().text, want, "{html}");
        }
    }
}
