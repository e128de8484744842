//! The last steps of Python trafilatura 1.11's text output (`sanitize` and `html.unescape` after
//! `xmltotxt`), shared by the extraction port and the baseline rescue.

/// The text of a body of `<p>` elements holding `paragraphs` (trafilatura's baseline output).
pub(crate) fn paragraphs_to_text(paragraphs: &[String]) -> String {
    sanitize_text(&unescape(&paragraphs.join("\n")))
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
pub(crate) fn sanitize_text(text: &str) -> String {
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
