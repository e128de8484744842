//! jusText 3.0.2 as trafilatura 1.11 calls it (`custom_justext` in `external.py`): the
//! second fallback of `compare_extraction`, run on the cleaned page when the chosen body still holds
//! boilerplate elements or is short.
//!
//! `ParagraphMaker` walks the tree in lxml's SAX order (start tag, text, children, end tag, tail),
//! cutting a paragraph at each block tag and at `<br><br>`. `classify_paragraphs` runs with
//! trafilatura's settings (length 50/200, stopword density 0.1/0.2, link density 0.2, no headings)
//! against the union of jusText's 100 stoplists, as trafilatura does when no target language is
//! set; `revise_paragraph_classification` then settles the short and near-good paragraphs from
//! their neighbours. The stoplist (`data/jt-stopwords.txt.gz`, 154,484 lower-cased words) is
//! jusText's own lists, merged and lower-cased exactly as trafilatura's bundled pickle holds them.

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

use crate::etree::{Id, Tree};

/// jusText's `PARAGRAPH_TAGS`.
const PARAGRAPH_TAGS: &[&str] = &[
    "body",
    "blockquote",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "form",
    "legend",
    "optgroup",
    "option",
    "p",
    "pre",
    "table",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

/// trafilatura's `classify_paragraphs(paragraphs, stoplist, 50, 200, 0.1, 0.2, 0.2, True)`.
const LENGTH_LOW: usize = 50;
const LENGTH_HIGH: usize = 200;
const STOPWORDS_LOW: f64 = 0.1;
const STOPWORDS_HIGH: f64 = 0.2;
const MAX_LINK_DENSITY: f64 = 0.2;

static STOPWORDS_GZ: &[u8] = include_bytes!("../data/jt-stopwords.txt.gz");

/// The union of jusText's stoplists (loaded on first use, about 10 MB in memory).
fn stoplist() -> &'static HashSet<Box<str>> {
    static LIST: OnceLock<HashSet<Box<str>>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut text = String::new();
        // The bundled file is checked by a test; a failure here would leave an empty list.
        if flate2::read::GzDecoder::new(STOPWORDS_GZ).read_to_string(&mut text).is_err() {
            tracing::error!("jusText stoplist: the bundled data/jt-stopwords.txt.gz does not decode");
            return HashSet::new();
        }
        text.lines().filter(|w| !w.is_empty()).map(Box::from).collect()
    })
}

/// Python's `str.isspace()` (and `\s` of `re` on str patterns).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `normalize_whitespace`: each whitespace run becomes `\n` if it holds `\n` or `\r`, else a space.
fn normalize_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run: Option<bool> = None; // Some(has_newline) inside a whitespace run
    for c in text.chars() {
        if is_py_space(c) {
            let nl = c == '\n' || c == '\r';
            run = Some(run.unwrap_or(false) || nl);
        } else {
            if let Some(nl) = run.take() {
                out.push(if nl { '\n' } else { ' ' });
            }
            out.push(c);
        }
    }
    if let Some(nl) = run {
        out.push(if nl { '\n' } else { ' ' });
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Short,
    NearGood,
    Good,
    Bad,
}

#[derive(Debug)]
struct Paragraph {
    dom_path: String,
    text_nodes: Vec<String>,
    chars_count_in_links: usize,
    /// The paragraph's text, set once the walk is done (`Paragraph.text`).
    text: String,
    len: usize,
    cf_class: Class,
    class_type: Class,
}

impl Paragraph {
    fn new(dom_path: String) -> Paragraph {
        Paragraph {
            dom_path,
            text_nodes: Vec::new(),
            chars_count_in_links: 0,
            text: String::new(),
            len: 0,
            cf_class: Class::Bad,
            class_type: Class::Bad,
        }
    }

    fn append_text(&mut self, text: &str) -> usize {
        let text = normalize_whitespace(text);
        let n = text.chars().count();
        self.text_nodes.push(text);
        n
    }

    fn finish(&mut self) {
        let joined = self.text_nodes.concat();
        self.text = normalize_whitespace(joined.trim_matches(is_py_space));
        self.len = self.text.chars().count();
    }

    fn stopwords_density(&self, stoplist: &HashSet<Box<str>>) -> f64 {
        let (mut words, mut stop) = (0usize, 0usize);
        for w in self.text.split(is_py_space).filter(|w| !w.is_empty()) {
            words += 1;
            if stoplist.contains(w.to_lowercase().as_str()) {
                stop += 1;
            }
        }
        if words == 0 {
            0.0
        } else {
            stop as f64 / words as f64
        }
    }

    fn links_density(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            self.chars_count_in_links as f64 / self.len as f64
        }
    }
}

/// `ParagraphMaker`, the SAX handler.
struct Maker {
    path: Vec<String>,
    paragraphs: Vec<Paragraph>,
    paragraph: Paragraph,
    link: bool,
    br: bool,
}

impl Maker {
    fn start_new_paragraph(&mut self) {
        let next = Paragraph::new(self.path.join("."));
        let done = std::mem::replace(&mut self.paragraph, next);
        // `if self.paragraph and self.paragraph.contains_text()`: a `Paragraph` is falsy when its
        // text (`__len__`) is empty, so a paragraph holding only a `<br>`'s space is dropped.
        if done.text_nodes.iter().any(|t| !t.chars().all(is_py_space)) {
            self.paragraphs.push(done);
        }
    }

    fn start_element(&mut self, name: &str) {
        self.path.push(name.to_string());
        let block = PARAGRAPH_TAGS.contains(&name);
        // (jusText's `tags_count` bookkeeping is left out: the classification does not read it.)
        if block || (name == "br" && self.br) {
            self.start_new_paragraph();
        } else {
            self.br = name == "br";
            if self.br {
                self.paragraph.append_text(" ");
            } else if name == "a" {
                self.link = true;
            }
        }
    }

    fn end_element(&mut self, name: &str) {
        self.path.pop();
        if PARAGRAPH_TAGS.contains(&name) {
            self.start_new_paragraph();
        }
        if name == "a" {
            self.link = false;
        }
    }

    fn characters(&mut self, content: &str) {
        if content.is_empty() || content.chars().all(is_py_space) {
            return;
        }
        let n = self.paragraph.append_text(content);
        if self.link {
            self.paragraph.chars_count_in_links += n;
        }
        self.br = false;
    }
}

/// `ParagraphMaker.make_paragraphs(root)` over lxml's `saxify` order.
fn make_paragraphs(t: &Tree, root: Id) -> Vec<Paragraph> {
    let mut m = Maker {
        path: Vec::new(),
        paragraphs: Vec::new(),
        paragraph: Paragraph::new(String::new()),
        link: false,
        br: false,
    };
    // (element, entered): an explicit stack, the tree may be deep.
    let mut stack = vec![(root, false)];
    while let Some((e, entered)) = stack.pop() {
        let n = &t.n[e];
        if !entered {
            m.start_element(&n.tag);
            if let Some(text) = n.text.as_deref() {
                m.characters(text);
            }
            stack.push((e, true));
            for c in t.children(e).rev() {
                stack.push((c, false));
            }
        } else {
            m.end_element(&n.tag);
            if let Some(tail) = n.tail.as_deref() {
                m.characters(tail);
            }
        }
    }
    m.start_new_paragraph();
    let mut paragraphs = m.paragraphs;
    paragraphs.iter_mut().for_each(Paragraph::finish);
    paragraphs
}

fn classify_paragraphs(paragraphs: &mut [Paragraph], stoplist: &HashSet<Box<str>>) {
    for p in paragraphs {
        p.cf_class = if p.links_density() > MAX_LINK_DENSITY
            || p.text.contains('\u{a9}')
            || p.text.contains("&copy")
            || p.dom_path.contains("select")
        {
            Class::Bad
        } else if p.len < LENGTH_LOW {
            if p.chars_count_in_links > 0 {
                Class::Bad
            } else {
                Class::Short
            }
        } else {
            let density = p.stopwords_density(stoplist);
            if density >= STOPWORDS_HIGH {
                if p.len > LENGTH_HIGH {
                    Class::Good
                } else {
                    Class::NearGood
                }
            } else if density >= STOPWORDS_LOW {
                Class::NearGood
            } else {
                Class::Bad
            }
        };
    }
}

/// `revise_paragraph_classification` without headings (trafilatura passes `no_headings=True`).
fn revise_paragraph_classification(paragraphs: &mut [Paragraph]) {
    let mut classes: Vec<Class> = paragraphs.iter().map(|p| p.cf_class).collect();
    revise(&mut classes);
    for (p, c) in paragraphs.iter_mut().zip(classes) {
        p.class_type = c;
    }
}

/// The context revision on the context-free classes, in linear time. Python looks for each short or
/// near-good paragraph's neighbours by scanning outwards (`_get_neighbour`), quadratic on a page of
/// many short paragraphs; the same neighbours are found here in one pass each way
/// (`tests::revise_equals_pythons_scans` checks both give the same classes).
fn revise(classes: &mut [Class]) {
    use Class::*;
    let n = classes.len();
    // Short paragraphs: all decided on the classes before any change. For each position, the nearest
    // good/bad paragraph and the nearest good/bad/near-good paragraph on each side (`Bad` past the end).
    let mut before = vec![(Bad, Bad); n];
    let (mut gb, mut any) = (Bad, Bad);
    for i in 0..n {
        before[i] = (gb, any);
        match classes[i] {
            c @ (Good | Bad) => (gb, any) = (c, c),
            NearGood => any = NearGood,
            Short => {}
        }
    }
    let mut after = vec![(Bad, Bad); n];
    let (mut gb, mut any) = (Bad, Bad);
    for i in (0..n).rev() {
        after[i] = (gb, any);
        match classes[i] {
            c @ (Good | Bad) => (gb, any) = (c, c),
            NearGood => any = NearGood,
            Short => {}
        }
    }
    let mut new_classes = Vec::new();
    for i in 0..n {
        if classes[i] != Short {
            continue;
        }
        let ((prev, prev_any), (next, next_any)) = (before[i], after[i]);
        let class = if prev == Good && next == Good {
            Good
        } else if prev == Bad && next == Bad {
            Bad
        } else if (prev == Bad && prev_any == NearGood) || (next == Bad && next_any == NearGood) {
            Good
        } else {
            Bad
        };
        new_classes.push((i, class));
    }
    for (i, c) in new_classes {
        classes[i] = c;
    }
    // Near-good paragraphs: decided in order, each seeing the ones before it already decided. The
    // next good/bad paragraph is one Python's scan reaches unchanged (near-good ones are skipped).
    let mut next_gb = vec![Bad; n];
    let mut gb = Bad;
    for i in (0..n).rev() {
        next_gb[i] = gb;
        if matches!(classes[i], Good | Bad) {
            gb = classes[i];
        }
    }
    let mut prev = Bad;
    for i in 0..n {
        if classes[i] == NearGood {
            classes[i] = if prev == Bad && next_gb[i] == Bad { Bad } else { Good };
        }
        if matches!(classes[i], Good | Bad) {
            prev = classes[i];
        }
    }
}

/// `custom_justext(tree, JT_STOPLIST)`: every paragraph's text and whether it is classified good.
pub(crate) fn paragraphs(t: &Tree, root: Id) -> Vec<(String, bool)> {
    let mut paragraphs = make_paragraphs(t, root);
    classify_paragraphs(&mut paragraphs, stoplist());
    revise_paragraph_classification(&mut paragraphs);
    paragraphs.into_iter().map(|p| (p.text, p.class_type == Class::Good)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stoplist_decodes_with_every_language() {
        let list = stoplist();
        assert_eq!(list.len(), 154_484);
        // English, German, Czech (jusText's home), Russian and Greek words.
        for w in ["the", "und", "který", "это", "και"] {
            assert!(list.contains(w), "{w} missing");
        }
        assert!(!list.contains("The"), "the list is lower-cased");
    }

    #[test]
    fn whitespace_runs_become_one_space_or_one_newline() {
        assert_eq!(normalize_whitespace("a \t b\u{a0}\r\n c  "), "a b\nc ");
        assert_eq!(normalize_whitespace("\u{1f}x"), " x");
    }

    fn texts(html: &str) -> Vec<(String, Class)> {
        let (t, root) = Tree::parse(html);
        let mut ps = make_paragraphs(&t, root);
        classify_paragraphs(&mut ps, stoplist());
        revise_paragraph_classification(&mut ps);
        ps.into_iter().map(|p| (p.text, p.class_type)).collect()
    }

    #[test]
    fn prose_is_good_and_link_lists_are_bad() {
        let prose = "This is a sentence with enough of the common words that it is clearly prose, and it \
                     goes on for long enough that the paragraph is longer than two hundred characters, \
                     which is what the classifier needs to call it good without any help from its \
                     neighbours in the page.";
        let html = format!(
            "<html><body><div><a href=/>Home</a> <a href=/x>Products and services of the company</a></div>\
             <p>{prose}</p><p>A short line.</p><p>{prose}</p><div>\u{a9} 2024 Example Corp, all rights \
             reserved by the owners of this site</div></body></html>"
        );
        let got = texts(&html);
        let class = |s: &str| got.iter().find(|(t, _)| t.starts_with(s)).map(|(_, c)| *c);
        assert_eq!(class("Home"), Some(Class::Bad), "{got:?}");
        assert_eq!(class("This is"), Some(Class::Good));
        // A short paragraph between two good ones is good.
        assert_eq!(class("A short line."), Some(Class::Good));
        assert_eq!(class("\u{a9} 2024"), Some(Class::Bad));
    }

    /// Python's `revise_paragraph_classification` (no headings), written as it is: scans outwards.
    fn revise_by_scans(classes: &mut [Class]) {
        use Class::*;
        fn neighbour(c: &[Class], i: usize, ignore_neargood: bool, forward: bool) -> Class {
            let mut j = i;
            loop {
                if forward {
                    j += 1;
                    if j >= c.len() {
                        return Bad;
                    }
                } else {
                    if j == 0 {
                        return Bad;
                    }
                    j -= 1;
                }
                match c[j] {
                    x @ (Good | Bad) => return x,
                    NearGood if !ignore_neargood => return NearGood,
                    _ => {}
                }
            }
        }
        let mut new_classes = Vec::new();
        for i in 0..classes.len() {
            if classes[i] != Short {
                continue;
            }
            let prev = neighbour(classes, i, true, false);
            let next = neighbour(classes, i, true, true);
            let class = if prev == Good && next == Good {
                Good
            } else if prev == Bad && next == Bad {
                Bad
            } else if (prev == Bad && neighbour(classes, i, false, false) == NearGood)
                || (next == Bad && neighbour(classes, i, false, true) == NearGood)
            {
                Good
            } else {
                Bad
            };
            new_classes.push((i, class));
        }
        for (i, c) in new_classes {
            classes[i] = c;
        }
        for i in 0..classes.len() {
            if classes[i] != NearGood {
                continue;
            }
            let prev = neighbour(classes, i, true, false);
            let next = neighbour(classes, i, true, true);
            classes[i] = if prev == Bad && next == Bad { Bad } else { Good };
        }
    }

    #[test]
    fn revise_equals_pythons_scans() {
        // Every sequence of up to 6 classes, then pseudo-random longer ones.
        let all = [Class::Short, Class::NearGood, Class::Good, Class::Bad];
        let mut cases: Vec<Vec<Class>> = Vec::new();
        for len in 0..=6u32 {
            for code in 0..4usize.pow(len) {
                cases.push((0..len).map(|k| all[(code / 4usize.pow(k)) % 4]).collect());
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut case = Vec::new();
            for _ in 0..40 {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                // Mostly short and near-good: long runs are where the scans differ most.
                case.push(all[[0, 0, 0, 1, 1, 2, 3][(state >> 33) as usize % 7]]);
            }
            cases.push(case);
        }
        for case in cases {
            let (mut fast, mut slow) = (case.clone(), case.clone());
            revise(&mut fast);
            revise_by_scans(&mut slow);
            assert_eq!(fast, slow, "{case:?}");
        }
    }

    #[test]
    fn many_short_paragraphs_take_linear_time() {
        let mut classes = vec![Class::Short; 200_000];
        classes[0] = Class::Good;
        classes[100_000] = Class::NearGood;
        classes[199_999] = Class::Good;
        let start = std::time::Instant::now();
        revise(&mut classes);
        assert!(classes.iter().all(|&c| c == Class::Good));
        // Python's scans take minutes here.
        assert!(start.elapsed().as_secs_f64() < 2.0, "{:?}", start.elapsed());
    }

    #[test]
    fn double_br_splits_a_paragraph() {
        let got = texts("<html><body><div>one<br>two<br><br>three</div></body></html>");
        let t: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(t, ["one two", "three"]);
    }
}
