//! HTML → text as inscriptis 2.7 renders it with its `strict` CSS profile (what DataTrove's
//! `ReadabilityInscriptis` calls): block elements on their own lines with their margins, runs of
//! whitespace collapsed outside `pre`, list bullets (`* `, `+ `, `o `, `- ` by depth; `1. ` for `ol`)
//! with four-column indentation, `br` line breaks, tables laid out in aligned columns separated by two
//! spaces, `display: none` honoured, `head`/`script`/`style` dropped.
//!
//! A port of inscriptis' rendering model (canvas, blocks, prefixes, table cells), tested against the
//! HTML → text expectations of inscriptis' own test suite (`crates/trove-extract/tests/inscriptis.rs`).

use scraper::{ElementRef, Html, Node};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Display {
    Inline,
    Block,
    None,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WhiteSpace {
    Normal,
    Pre,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Align {
    Left,
    Right,
    Center,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum VAlign {
    Top = 0,
    Middle = 1,
    Bottom = 2,
}

/// inscriptis' `HtmlElement`: how one open element renders.
#[derive(Clone, Debug)]
struct Element {
    prefix: &'static str,
    suffix: &'static str,
    display: Display,
    margin_before: i64,
    margin_after: i64,
    padding_inline: i64,
    list_bullet: String,
    whitespace: WhiteSpace,
    align: Align,
    valign: VAlign,
    previous_margin_after: i64,
    canvas: usize,
}

impl Element {
    fn new(display: Display) -> Element {
        Element {
            prefix: "",
            suffix: "",
            display,
            margin_before: 0,
            margin_after: 0,
            padding_inline: 0,
            list_bullet: String::new(),
            whitespace: WhiteSpace::Normal,
            align: Align::Left,
            valign: VAlign::Middle,
            previous_margin_after: 0,
            canvas: 0,
        }
    }
}

/// The strict CSS profile.
fn profile(tag: &str) -> Element {
    use Display::*;
    let mut e = Element::new(Inline);
    match tag {
        "head" | "link" | "meta" | "script" | "title" | "style" => e.display = None,
        "p" | "figure" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
            e.display = Block;
            e.margin_before = 1;
            e.margin_after = 1;
        }
        "ul" | "ol" => {
            e.display = Block;
            e.padding_inline = 4;
        }
        "li" | "address" | "article" | "aside" | "div" | "footer" | "header" | "hgroup" | "layer"
        | "main" | "nav" | "figcaption" | "blockquote" => e.display = Block,
        "q" => {
            e.prefix = "\"";
            e.suffix = "\"";
        }
        "pre" | "xmp" | "listing" | "plaintext" => {
            e.display = Block;
            e.whitespace = WhiteSpace::Pre;
        }
        _ => {}
    }
    e
}

/// Python's `round` (half to even) of a CSS length in em; other units are divided by 8.
fn em(value: &str) -> Option<i64> {
    let start = value.find(|c: char| c == '-' || c == '.' || c.is_ascii_digit())?;
    let rest = &value[start..];
    let num_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    let unit: String = rest[num_len..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if unit.is_empty() {
        return None;
    }
    let mut number: f64 = rest[..num_len].parse().ok()?;
    if !matches!(unit.as_str(), "em" | "qem" | "rem") {
        number /= 8.0;
    }
    let rounded = number.round_ties_even();
    Some((rounded as i64).min(100_000))
}

/// inscriptis' attribute handlers: `style`, `align`, `valign`.
fn apply_attributes(element: ElementRef<'_>, e: &mut Element) {
    for (name, value) in element.value().attrs() {
        match name {
            "style" => {
                for directive in value.to_lowercase().split(';') {
                    let Some((key, value)) = directive.split_once(':') else { continue };
                    let (key, value) = (key.trim().replace("-webkit-", ""), value.trim());
                    match key.as_str() {
                        "display" if e.display != Display::None => {
                            e.display = match value {
                                "block" => Display::Block,
                                "none" => Display::None,
                                _ => Display::Inline,
                            }
                        }
                        "white-space" => match value {
                            "normal" | "nowrap" => e.whitespace = WhiteSpace::Normal,
                            "pre" | "pre-line" | "pre-wrap" => e.whitespace = WhiteSpace::Pre,
                            _ => {}
                        },
                        "margin-top" | "margin-before" => {
                            if let Some(v) = em(value) {
                                e.margin_before = v;
                            }
                        }
                        "margin-bottom" | "margin-after" => {
                            if let Some(v) = em(value) {
                                e.margin_after = v;
                            }
                        }
                        "vertical-align" => match value {
                            "top" => e.valign = VAlign::Top,
                            "middle" => e.valign = VAlign::Middle,
                            "bottom" => e.valign = VAlign::Bottom,
                            _ => {}
                        },
                        "padding-left" | "padding-start" => {
                            if let Some(v) = em(value) {
                                e.padding_inline = v;
                            }
                        }
                        _ => {}
                    }
                }
            }
            "align" => match value {
                "left" => e.align = Align::Left,
                "right" => e.align = Align::Right,
                "center" => e.align = Align::Center,
                _ => {}
            },
            "valign" => match value {
                "top" => e.valign = VAlign::Top,
                "middle" => e.valign = VAlign::Middle,
                "bottom" => e.valign = VAlign::Bottom,
                _ => {}
            },
            _ => {}
        }
    }
}

/// Indentation and bullets of the lines of a canvas.
#[derive(Default)]
struct Prefix {
    current_padding: i64,
    paddings: Vec<i64>,
    bullets: Vec<String>,
    consumed: bool,
}

fn spaces(n: i64) -> String {
    " ".repeat(n.max(0) as usize)
}

fn py_len(s: &str) -> i64 {
    s.chars().count() as i64
}

impl Prefix {
    fn register(&mut self, padding: i64, bullet: &str) {
        self.current_padding += padding;
        self.paddings.push(padding);
        self.bullets.push(bullet.to_string());
    }

    fn remove_last(&mut self) {
        if let Some(p) = self.paddings.pop() {
            self.current_padding -= p;
            self.bullets.pop();
        }
    }

    fn pop_next_bullet(&mut self) -> String {
        match self.bullets.iter_mut().rev().find(|b| !b.is_empty()) {
            Some(b) => std::mem::take(b),
            None => String::new(),
        }
    }

    fn first(&mut self) -> String {
        if self.consumed {
            return String::new();
        }
        self.consumed = true;
        let bullet = self.pop_next_bullet();
        spaces(self.current_padding - py_len(&bullet)) + &bullet
    }

    fn unconsumed_bullet(&mut self) -> String {
        if self.consumed {
            return String::new();
        }
        let bullet = self.pop_next_bullet();
        if bullet.is_empty() {
            return bullet;
        }
        let padding = self.current_padding - self.paddings.last().copied().unwrap_or(0);
        spaces(padding - py_len(&bullet)) + &bullet
    }
}

/// The line being written.
struct Block {
    content: String,
    collapsable_whitespace: bool,
}

impl Block {
    fn new() -> Block {
        Block { content: String::new(), collapsable_whitespace: true }
    }

    fn content(&mut self) -> &str {
        if self.collapsable_whitespace && self.content.ends_with(' ') {
            self.content.pop();
        }
        &self.content
    }
}

/// A table cell's layout.
struct Cell {
    align: Align,
    valign: VAlign,
    lines: Vec<String>,
    width: i64,
    height: i64,
}

/// inscriptis' `Canvas` (and `TableCell`, a canvas with a layout).
struct Canvas {
    margin: i64,
    block: Block,
    prefix: Prefix,
    blocks: Vec<String>,
    cell: Option<Cell>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            margin: 1000,
            block: Block::new(),
            prefix: Prefix::default(),
            blocks: Vec::new(),
            cell: None,
        }
    }

    fn new_block(&mut self) {
        self.prefix.consumed = false;
        self.block = Block::new();
    }

    fn open_tag(&mut self, tag: &Element) {
        if tag.display == Display::Block {
            self.open_block(tag);
        }
    }

    fn margin_to(&mut self, required: i64) {
        if required > self.margin {
            self.blocks.push("\n".repeat((required - self.margin - 1) as usize));
            self.margin = required;
        }
    }

    fn open_block(&mut self, tag: &Element) {
        if !self.flush_inline() && !tag.list_bullet.is_empty() {
            self.write_unconsumed_bullet();
        }
        self.prefix.register(tag.padding_inline, &tag.list_bullet);
        self.margin_to(tag.previous_margin_after.max(tag.margin_before));
    }

    fn write_unconsumed_bullet(&mut self) {
        let bullet = self.prefix.unconsumed_bullet();
        if !bullet.is_empty() {
            self.blocks.push(bullet);
            self.new_block();
            self.margin = 0;
        }
    }

    fn write(&mut self, text: &str, whitespace: WhiteSpace) {
        match whitespace {
            WhiteSpace::Pre => {
                let rest = format!("\n{}", spaces(self.prefix.current_padding));
                let text = self.prefix.first() + &text.replace('\n', &rest);
                self.block.content.push_str(&crate::totext::unescape(&text));
                self.block.collapsable_whitespace = false;
            }
            WhiteSpace::Normal => {
                let mut normalized = String::new();
                for c in text.chars() {
                    if !c.is_whitespace() {
                        normalized.push(c);
                        self.block.collapsable_whitespace = false;
                    } else if !self.block.collapsable_whitespace {
                        normalized.push(' ');
                        self.block.collapsable_whitespace = true;
                    }
                }
                if !normalized.is_empty() {
                    let text = if self.block.content.is_empty() {
                        self.prefix.first() + &normalized
                    } else {
                        normalized
                    };
                    self.block.content.push_str(&crate::totext::unescape(&text));
                }
            }
        }
    }

    fn close_tag(&mut self, tag: &Element) {
        if tag.display == Display::Block {
            if !self.flush_inline() && !tag.list_bullet.is_empty() {
                self.write_unconsumed_bullet();
            }
            self.prefix.remove_last();
            self.close_block(tag);
        }
    }

    fn close_block(&mut self, tag: &Element) {
        self.margin_to(tag.margin_after);
    }

    fn write_newline(&mut self) {
        if !self.flush_inline() {
            self.blocks.push(String::new());
            self.new_block();
        }
    }

    fn flush_inline(&mut self) -> bool {
        if self.block.content().is_empty() {
            return false;
        }
        let content = std::mem::take(&mut self.block.content);
        self.blocks.push(content);
        self.new_block();
        self.margin = 0;
        true
    }

    fn text(&mut self) -> String {
        self.flush_inline();
        self.blocks.join("\n")
    }

    /// `TableCell.normalize_blocks`: the cell's lines; their count.
    fn normalize(&mut self) -> i64 {
        self.flush_inline();
        let mut lines: Vec<String> =
            self.blocks.iter().flat_map(|b| b.split('\n')).map(str::to_string).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        let cell = self.cell.as_mut().expect("a table cell");
        cell.width = lines.iter().map(|l| py_len(l)).max().unwrap_or(0);
        cell.height = lines.len() as i64;
        cell.lines = lines;
        cell.height
    }
}

/// Python's `str.center`.
fn center(text: &str, width: i64) -> String {
    let margin = width - py_len(text);
    if margin <= 0 {
        return text.to_string();
    }
    let left = margin / 2 + (margin & width & 1);
    spaces(left) + text + &spaces(margin - left)
}

impl Cell {
    fn rendered(&self) -> Vec<String> {
        let content = self.lines.len() as i64;
        if self.width == 0 && self.height <= content {
            return self.lines.clone();
        }
        let top = (self.height - content) * self.valign as i64 / 2;
        let empty = spaces(self.width);
        let mut out = vec![empty.clone(); top as usize];
        for line in &self.lines {
            let pad = self.width - py_len(line);
            out.push(match self.align {
                Align::Left => line.clone() + &spaces(pad),
                Align::Right => spaces(pad) + line,
                Align::Center => center(line, self.width),
            });
        }
        out.resize((self.height.max(content)) as usize, empty);
        out
    }
}

/// A table being read: rows of cell canvases.
struct Table {
    rows: Vec<Vec<usize>>,
}

struct State {
    canvases: Vec<Canvas>,
    tags: Vec<Element>,
    tables: Vec<Table>,
    /// `ul` bullets or `ol` counters of the open lists.
    li_counter: Vec<Counter>,
}

#[derive(Clone)]
enum Counter {
    Bullet(&'static str),
    Number(i64),
}

const UL_COUNTER: [&str; 4] = ["* ", "+ ", "o ", "- "];

impl State {
    fn top(&mut self) -> &mut Element {
        self.tags.last_mut().expect("the body element stays open")
    }

    /// `HtmlElement.write`: the text with the element's prefix and suffix.
    fn write(&mut self, index: usize, text: &str) {
        let e = &self.tags[index];
        if text.is_empty() || e.display == Display::None {
            return;
        }
        let text = format!("{}{text}{}", e.prefix, e.suffix);
        let (canvas, ws) = (e.canvas, e.whitespace);
        self.canvases[canvas].write(&text, ws);
    }

    fn write_top(&mut self, text: &str) {
        let last = self.tags.len() - 1;
        self.write(last, text);
    }

    fn new_canvas(&mut self, cell: Option<Cell>) -> usize {
        let mut canvas = Canvas::new();
        canvas.cell = cell;
        self.canvases.push(canvas);
        self.canvases.len() - 1
    }

    fn start(&mut self, element: ElementRef<'_>) {
        let tag = element.value().name();
        let mut new = profile(tag);
        apply_attributes(element, &mut new);
        let parent = self.tags.last().expect("the body element stays open");
        new.canvas = parent.canvas;
        if parent.display == Display::None {
            new.display = Display::None;
        } else if new.display == Display::Block && parent.display == Display::Block {
            new.previous_margin_after = parent.margin_after;
        }
        self.tags.push(new);
        match tag {
            "table" => {
                let canvas = self.new_canvas(None);
                self.top().canvas = canvas;
                self.tables.push(Table { rows: Vec::new() });
            }
            "tr" => {
                if let Some(table) = self.tables.last_mut() {
                    table.rows.push(Vec::new());
                }
            }
            "td" | "th" if !self.tables.is_empty() => {
                let (align, valign) = (self.top().align, self.top().valign);
                let canvas =
                    self.new_canvas(Some(Cell { align, valign, lines: Vec::new(), width: 0, height: 0 }));
                self.top().canvas = canvas;
                let table = self.tables.last_mut().expect("checked");
                if table.rows.is_empty() {
                    table.rows.push(Vec::new());
                }
                table.rows.last_mut().expect("a row").push(canvas);
            }
            "ul" => {
                self.li_counter.push(Counter::Bullet(UL_COUNTER[self.li_counter.len() % UL_COUNTER.len()]))
            }
            "ol" => self.li_counter.push(Counter::Number(1)),
            "li" => {
                let mut bullet = self.li_counter.last().cloned().unwrap_or(Counter::Bullet("* "));
                if let (Some(value), Counter::Number(_)) = (element.value().attr("value"), &bullet) {
                    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
                        if let Ok(v) = value.parse() {
                            bullet = Counter::Number(v);
                        }
                    }
                }
                self.top().list_bullet = match bullet {
                    Counter::Number(n) => {
                        if let Some(last) = self.li_counter.last_mut() {
                            *last = Counter::Number(n + 1);
                        }
                        format!("{n}. ")
                    }
                    Counter::Bullet(b) => b.to_string(),
                };
            }
            "br" => {
                let canvas = self.top().canvas;
                self.canvases[canvas].write_newline();
            }
            _ => {}
        }
        let top = self.tags.last().expect("just pushed").clone();
        self.canvases[top.canvas].open_tag(&top);
    }

    fn end(&mut self, tag: &str) {
        match tag {
            "table" => self.end_table(),
            "ul" | "ol" => {
                self.li_counter.pop();
            }
            "td" | "th" if !self.tables.is_empty() => {
                let top = self.tags.last().expect("open").clone();
                self.canvases[top.canvas].close_tag(&top);
            }
            _ => {}
        }
        let closed = self.tags.pop().expect("open");
        self.canvases[closed.canvas].close_tag(&closed);
    }

    fn end_table(&mut self) {
        let Some(table) = self.tables.pop() else { return };
        let top = self.tags.last().expect("the table").clone();
        self.canvases[top.canvas].close_tag(&top);
        let outside = self.canvases[top.canvas].text().trim().to_string();
        let outer = self.tags.len() - 2;
        let outer_canvas = self.tags[outer].canvas;
        if !outside.is_empty() {
            self.write(outer, &outside);
            self.canvases[outer_canvas].write_newline();
        }
        let text = self.table_text(&table);
        let element = self.tags[outer].clone();
        if element.display == Display::Block {
            self.canvases[outer_canvas].open_block(&element);
        }
        self.canvases[outer_canvas].write(&text, WhiteSpace::Pre);
        if element.display == Display::Block {
            self.canvases[outer_canvas].close_block(&element);
        }
        self.canvases[outer_canvas].flush_inline();
        if element.display == Display::Block {
            self.canvases[outer_canvas].prefix.remove_last();
        }
    }

    /// `Table.get_text`: rows as tall as their tallest cell, columns as wide as their widest.
    fn table_text(&mut self, table: &Table) -> String {
        if table.rows.is_empty() {
            return "\n".into();
        }
        for row in &table.rows {
            let height = row.iter().map(|&c| self.canvases[c].normalize()).max().unwrap_or(0);
            for &c in row {
                self.canvases[c].cell.as_mut().expect("a cell").height = height;
            }
        }
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        for column in 0..columns {
            let width = table
                .rows
                .iter()
                .filter_map(|row| row.get(column))
                .map(|&c| self.canvases[c].cell.as_ref().expect("a cell").width)
                .max()
                .unwrap_or(0);
            for row in &table.rows {
                if let Some(&c) = row.get(column) {
                    self.canvases[c].cell.as_mut().expect("a cell").width = width;
                }
            }
        }
        let mut rows = Vec::new();
        for row in &table.rows {
            let cells: Vec<Vec<String>> =
                row.iter().map(|&c| self.canvases[c].cell.as_ref().expect("a cell").rendered()).collect();
            let height = cells.iter().map(Vec::len).min().unwrap_or(0);
            let lines: Vec<String> = (0..height)
                .map(|i| cells.iter().map(|c| c[i].as_str()).collect::<Vec<_>>().join("  "))
                .collect();
            rows.push(lines.join("\n"));
        }
        rows.join("\n") + "\n"
    }

    fn walk(&mut self, element: ElementRef<'_>) {
        self.start(element);
        let mut after_comment = false;
        for child in element.children() {
            match child.value() {
                Node::Text(text) => {
                    if after_comment {
                        // lxml makes this text a comment's tail, which inscriptis writes to the canvas
                        // as it is.
                        let top = self.tags.last().expect("open");
                        let (canvas, ws) = (top.canvas, top.whitespace);
                        self.canvases[canvas].write(text, ws);
                    } else {
                        self.write_top(text);
                    }
                    after_comment = false;
                }
                Node::Comment(_) => after_comment = true,
                Node::Element(_) => {
                    after_comment = false;
                    if let Some(e) = ElementRef::wrap(child) {
                        self.walk(e);
                    }
                }
                _ => {}
            }
        }
        self.end(element.value().name());
    }
}

/// An HTML parser drops the line break that follows `<pre>` (and `<listing>`, `<textarea>`); libxml2,
/// which inscriptis parses with, keeps it. A second line break makes html5ever keep one.
pub(crate) fn keep_pre_newlines(html: &str) -> std::borrow::Cow<'_, str> {
    let lower = html.to_ascii_lowercase();
    if !lower.contains("<pre") && !lower.contains("<listing") {
        return html.into();
    }
    let mut out = String::with_capacity(html.len() + 16);
    let mut last = 0;
    let mut from = 0;
    while let Some(at) = lower[from..].find('<').map(|i| i + from) {
        from = at + 1;
        let tag = &lower[at + 1..];
        let name_len = tag.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(tag.len());
        if !matches!(&tag[..name_len], "pre" | "listing") {
            continue;
        }
        let Some(end) = lower[at..].find('>').map(|i| i + at) else { break };
        if html[end + 1..].starts_with('\n') || html[end + 1..].starts_with("\r\n") {
            out.push_str(&html[last..=end]);
            out.push('\n');
            last = end + 1;
        }
        from = end + 1;
    }
    out.push_str(&html[last..]);
    out.into()
}

/// The text inscriptis' `get_text(html, ParserConfig(css=CSS_PROFILES["strict"]))` returns.
pub fn html_to_text(html: &str) -> String {
    let html = html.trim();
    if html.is_empty() {
        return String::new();
    }
    let document = Html::parse_document(&keep_pre_newlines(html));
    let mut body = Element::new(Display::Inline);
    body.canvas = 0;
    let mut state =
        State { canvases: vec![Canvas::new()], tags: vec![body], tables: Vec::new(), li_counter: Vec::new() };
    state.walk(document.root_element());
    state.canvases[0].text()
}
