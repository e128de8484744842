//! Python trafilatura 1.11's plain-text output (`xmltotxt` then `sanitize`), computed from the
//! `trafilatura` crate's extracted HTML.
//!
//! The crate's `content_text` is whitespace-joined into one line, while Python trafilatura (what
//! DataTrove runs) ends every block element with a newline: a paragraph, heading, list, code element,
//! quote, table row and line break each close a line, a list item's own text gets a `- ` prefix, and
//! table cells are separated by ` | `. Line-based filters (Gopher, C4, FineWeb) depend on those lines.

use scraper::{ElementRef, Html, Node};

/// Python trafilatura's output element kinds, from the HTML tags the crate writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Closes a line (`p`, `head`, `lb`, `list`, `code`, `quote`, `table`, `graphic`).
    Newline,
    Row,
    Cell,
    Item,
    /// Inline formatting (`hi`, `ref`, `del`): nothing added after it.
    Inline,
    /// Anything else: a space after it.
    Other,
}

fn kind(tag: &str) -> Kind {
    match tag {
        "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "br" | "hr" | "ul" | "ol" | "dl" | "pre" | "code"
        | "blockquote" | "q" | "table" | "img" | "div" | "section" | "article" | "main" | "figure"
        | "figcaption" | "details" | "summary" => Kind::Newline,
        "tr" => Kind::Row,
        "td" | "th" => Kind::Cell,
        "li" | "dd" | "dt" => Kind::Item,
        "b" | "strong" | "i" | "em" | "u" | "tt" | "kbd" | "samp" | "var" | "mark" | "sub" | "sup"
        | "small" | "big" | "a" | "del" | "s" | "strike" | "span" | "abbr" | "cite" | "font" | "ins"
        | "time" => Kind::Inline,
        _ => Kind::Other,
    }
}

/// The text DataTrove's `Trafilatura` step produces for the crate's `content_html`.
pub fn html_to_text(html: &str) -> String {
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len() / 2);
    for child in fragment.root_element().children() {
        if let Some(element) = ElementRef::wrap(child) {
            process(element, &mut out, false);
        } else if let Node::Text(text) = child.value() {
            out.push_str(text);
        }
    }
    sanitize(&unescape(&out))
}

/// The text of a body of `<p>` elements holding `paragraphs` (trafilatura's baseline output).
pub(crate) fn paragraphs_to_text(paragraphs: &[String]) -> String {
    sanitize(&unescape(&paragraphs.join("\n")))
}

/// `process_element`: the element's text, its children (each followed by its tail), then what its
/// kind adds at its end.
fn process(element: ElementRef<'_>, out: &mut String, in_cell: bool) {
    let kind = kind(element.value().name());
    let mut children = element.children().peekable();
    // `element.text`: the text before the first child element.
    let mut lead = String::new();
    while let Some(Node::Text(text)) = children.peek().map(|c| c.value()) {
        lead.push_str(text);
        children.next();
    }
    let has_text = !lead.is_empty();
    if kind == Kind::Item && has_text {
        out.push_str("- ");
        out.push_str(&lead);
        out.push('\n');
    } else {
        out.push_str(&lead);
    }
    let child_in_cell = in_cell || kind == Kind::Cell;
    for child in children {
        match child.value() {
            Node::Text(text) => out.push_str(text),
            _ => {
                if let Some(e) = ElementRef::wrap(child) {
                    process(e, out, child_in_cell);
                }
            }
        }
    }
    // The element's tail is handled by its parent; whether it has one matters for textless
    // elements only.
    let has_tail =
        element.next_sibling().is_some_and(|n| matches!(n.value(), Node::Text(t) if !t.is_empty()));
    if !has_text && !has_tail {
        match kind {
            Kind::Row | Kind::Newline => out.push('\n'),
            Kind::Cell => {}
            _ => return,
        }
    }
    match kind {
        Kind::Newline | Kind::Row if !in_cell => out.push_str("\n\n"),
        Kind::Cell => out.push_str(" | "),
        Kind::Inline | Kind::Item => {}
        _ => out.push(' '),
    }
}

/// Python's `html.unescape` for the entities that occur in practice (trafilatura unescapes its output
/// once more).
pub(crate) fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..].find(|c: char| !c.is_ascii_alphanumeric() && c != '#').map(|e| e + 1);
        let (entity, after) = match end {
            Some(e) if rest[e..].starts_with(';') => (&rest[1..e], &rest[e + 1..]),
            _ => ("", rest),
        };
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            e if e.starts_with("#x") || e.starts_with("#X") => {
                u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32)
            }
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = after;
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Python's `str.isprintable() or str.isspace()` for the characters that are neither: control and
/// format characters.
fn dropped(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Python's `str.splitlines` separators.
fn line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// `sanitize`: every line without control characters and with its whitespace collapsed; empty lines
/// dropped.
fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split(line_break) {
        let mut first = true;
        for word in line.split(char::is_whitespace).filter(|w| !w.is_empty()) {
            let word: String = word.chars().filter(|&c| !dropped(c)).collect();
            if word.is_empty() {
                continue;
            }
            if first {
                if !out.is_empty() {
                    out.push('\n');
                }
                first = false;
            } else {
                out.push(' ');
            }
            out.push_str(&word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn blocks_close_lines_as_python_trafilatura_does() {
        let cases = [
            ("<div><p>One  two.</p><p>Three</p></div>", "One two.\nThree"),
            ("<p>Run <code>apt-get</code> now.</p>", "Run apt-get\nnow."),
            ("<p>Some <b>bold</b> and <a href=x>link</a> text.</p>", "Some bold and link text."),
            ("<ul><li>first</li><li>second <b>x</b></li></ul>", "- first\n- second\nx"),
            ("<h2>Title</h2><p>Body<br>next line</p>", "Title\nBody\nnext line"),
            ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a | b |\nc | d |"),
            ("<p>x &amp;lt; y, caf\u{e9}\u{ad}s</p>", "x < y, cafés"),
            ("<pre>line 1\n  line 2</pre>", "line 1\nline 2"),
        ];
        for (html, want) in cases {
            assert_eq!(html_to_text(html), want, "{html}");
        }
    }
}
