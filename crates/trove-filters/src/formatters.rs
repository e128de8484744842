//! Formatters: steps that rewrite a document's text (DataTrove's `pipeline/formatters`).

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use trove_core::text::{is_punctuation, py_strip, splitlines};
use trove_core::{BuildContext, Document, Map, MapStep, Result, Stage, StepConfig};

/// Display name DataTrove gives formatters in stats: `✂️ - FORMAT: {name}`.
fn format_name(name: &str) -> String {
    format!("✂️ - FORMAT: {name}")
}

/// One string or several (DataTrove accepts both for replacements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One replacement.
    One(String),
    /// Replacements used in turn.
    Many(Vec<String>),
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

fn yes() -> bool {
    true
}

fn email_replacements() -> OneOrMany {
    OneOrMany::Many(vec!["email@example.com".into(), "firstname.lastname@example.org".into()])
}

fn ip_replacements() -> OneOrMany {
    OneOrMany::Many(
        [
            "22.214.171.124",
            "126.96.36.199",
            "188.8.131.52",
            "184.108.40.206",
            "220.127.116.11",
            "18.104.22.168",
        ]
        .map(String::from)
        .to_vec(),
    )
}

/// `pii_formatter`: DataTrove's `PIIFormatter`: replaces email addresses and (public) IPv4 addresses,
/// cycling through the replacements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiFormatterConfig {
    /// Replace email addresses.
    #[serde(default = "yes")]
    pub remove_emails: bool,
    /// Replace IP addresses.
    #[serde(default = "yes")]
    pub remove_ips: bool,
    /// Only public addresses (Python 3.11's `ipaddress` `is_global`).
    #[serde(default = "yes")]
    pub only_remove_public_ips: bool,
    /// Email replacements, used in turn.
    #[serde(default = "email_replacements")]
    pub email_replacement: OneOrMany,
    /// IP replacements, used in turn.
    #[serde(default = "ip_replacements")]
    pub ip_replacement: OneOrMany,
}

impl Default for PiiFormatterConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults deserialize")
    }
}

const EMAIL: &str = concat!(
    r"\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:(?:[A-Za-z0-9](?:[",
    r"A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|\[(?:(?:25[0-5]|2[0-4][0-9]|[",
    r"01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)])"
);
const IPV4: &str =
    r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)";

impl StepConfig for PiiFormatterConfig {
    const TYPE: &'static str = "pii_formatter";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        Ok(Stage::step(format_name("📞 PII"), MapStep(PiiFormatter::new(self))))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.email_replacement.to_vec().is_empty() || self.ip_replacement.to_vec().is_empty() {
            problems.push("replacements must not be empty".into());
        }
    }
}

/// Replaces matches in turn with a list of replacements (DataTrove's `PIIReplacer`).
struct Replacer {
    regex: regex::Regex,
    replacements: Vec<String>,
    next: usize,
    only_public_ips: Option<bool>,
}

impl Replacer {
    fn replace(&mut self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        let mut replaced = false;
        for m in self.regex.find_iter(text) {
            if let Some(public_only) = self.only_public_ips {
                if !ip_matches(m.as_str(), public_only) {
                    continue;
                }
            }
            out.push_str(&text[last..m.start()]);
            out.push_str(&self.replacements[self.next]);
            self.next = (self.next + 1) % self.replacements.len();
            last = m.end();
            replaced = true;
        }
        if !replaced {
            return None;
        }
        out.push_str(&text[last..]);
        Some(out)
    }
}

/// DataTrove's `public_ip_validator`: a valid address (no leading zeros), global when `public_only`
/// (Python 3.11's `is_global`: not shared address space, not private).
fn ip_matches(ip: &str, public_only: bool) -> bool {
    let Ok(addr) = ip.parse::<Ipv4Addr>() else { return false };
    !public_only || is_global(addr)
}

fn is_global(addr: Ipv4Addr) -> bool {
    let ip = u32::from(addr);
    let within = |net: [u8; 4], bits: u32| {
        let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
        ip & mask == u32::from(Ipv4Addr::from(net)) & mask
    };
    const PRIVATE: [([u8; 4], u32); 14] = [
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 29),
        ([192, 0, 0, 170], 31),
        ([192, 0, 2, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([240, 0, 0, 0], 4),
        ([255, 255, 255, 255], 32),
    ];
    !within([100, 64, 0, 0], 10) && !PRIVATE.iter().any(|&(net, bits)| within(net, bits))
}

/// The runtime PII formatter.
pub struct PiiFormatter {
    emails: Option<Replacer>,
    ips: Option<Replacer>,
}

impl PiiFormatter {
    /// A formatter from its config.
    pub fn new(config: &PiiFormatterConfig) -> PiiFormatter {
        let compile = |p: &str| regex::Regex::new(p).expect("a valid pattern");
        PiiFormatter {
            emails: config.remove_emails.then(|| Replacer {
                regex: compile(EMAIL),
                replacements: config.email_replacement.to_vec(),
                next: 0,
                only_public_ips: None,
            }),
            ips: config.remove_ips.then(|| Replacer {
                regex: compile(IPV4),
                replacements: config.ip_replacement.to_vec(),
                next: 0,
                only_public_ips: Some(config.only_remove_public_ips),
            }),
        }
    }
}

impl Map for PiiFormatter {
    fn map(&mut self, doc: &mut Document) -> Result<()> {
        for replacer in [&mut self.emails, &mut self.ips].into_iter().flatten() {
            if let Some(text) = replacer.replace(&doc.text) {
                doc.text = text;
            }
        }
        Ok(())
    }
}

/// `symbol_lines_formatter`: DataTrove's `SymbolLinesFormatter`: removes lines made only of symbols
/// (and spaces); a run of such lines becomes `replace_char` (nothing by default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolLinesFormatterConfig {
    /// The symbols (DataTrove's `PUNCTUATION_SET` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols_to_remove: Option<Vec<String>>,
    /// What replaces a removed run of lines (`"\n"` keeps a paragraph break).
    #[serde(default)]
    pub replace_char: String,
}

impl StepConfig for SymbolLinesFormatterConfig {
    const TYPE: &'static str = "symbol_lines_formatter";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let symbols =
            self.symbols_to_remove.as_ref().map(|s| s.iter().filter_map(|c| c.chars().next()).collect());
        let formatter = SymbolLinesFormatter { symbols, replace_char: self.replace_char.clone() };
        Ok(Stage::step(format_name(" ⚞ Symbol Lines Remover"), MapStep(formatter)))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Some(symbols) = &self.symbols_to_remove {
            if symbols.iter().any(|s| s.chars().count() != 1) {
                problems.push("symbols_to_remove must be single characters".into());
            }
        }
    }
}

/// The runtime symbol-lines formatter.
pub struct SymbolLinesFormatter {
    symbols: Option<HashSet<char>>,
    replace_char: String,
}

impl SymbolLinesFormatter {
    fn is_symbol(&self, c: char) -> bool {
        match &self.symbols {
            Some(set) => set.contains(&c),
            None => is_punctuation(c),
        }
    }

    /// Formats one text.
    pub fn format(&self, text: &str) -> String {
        let mut formatted: Vec<&str> = Vec::new();
        let mut in_removed_span = false;
        for line in splitlines(text) {
            let symbols_only =
                !py_strip(line).is_empty() && line.chars().all(|c| c == ' ' || self.is_symbol(c));
            if symbols_only && !in_removed_span {
                if !self.replace_char.is_empty() {
                    formatted.push(&self.replace_char);
                }
                in_removed_span = true;
            } else if !symbols_only {
                formatted.push(line);
                in_removed_span = false;
            }
        }
        formatted.join("\n")
    }
}

impl Map for SymbolLinesFormatter {
    fn map(&mut self, doc: &mut Document) -> Result<()> {
        doc.text = self.format(&doc.text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_replaces_in_turn_and_keeps_private_ips() {
        let mut f = PiiFormatter::new(&PiiFormatterConfig::default());
        let mut doc =
            Document::new("mail a@b.com or c.d@e.org; hosts 8.8.8.8, 10.0.0.1, 01.2.3.4 and 1.1.1.1", "1");
        f.map(&mut doc).expect("map");
        assert_eq!(
            doc.text,
            "mail email@example.com or firstname.lastname@example.org; hosts 22.214.171.124, 10.0.0.1, \
             01.2.3.4 and 126.96.36.199"
        );
    }

    #[test]
    fn symbol_lines_go() {
        let f = SymbolLinesFormatter { symbols: None, replace_char: String::new() };
        assert_eq!(f.format("Title\n* * *\n---\nText\n\n..."), "Title\nText\n");
        let f = SymbolLinesFormatter { symbols: None, replace_char: "\n".into() };
        assert_eq!(f.format("a\n***\n---\nb"), "a\n\n\nb");
    }
}
