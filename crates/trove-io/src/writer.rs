//! What every file writer shares (DataTrove's `DiskWriter`): the `output_filename` template with
//! `${rank}`, `${id}` and metadata placeholders, compression, `max_file_size` splitting into
//! `000_name`, `001_name`, ..., atomic publication at the end of the task, and the writer stats
//! (one count per output file name with the rank as `XXXXX`, `total`, `doc_len`).

use crate::compression::Compression;
use crate::folder::DataFolder;
use std::collections::HashMap;
use trove_core::{AtomicFile, Context, Document, Error, Result, Value};

/// Display name DataTrove gives writers in stats: `💽 - WRITER: {name}`.
pub fn writer_name(name: &str) -> String {
    format!("💽 - WRITER: {name}")
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Rank,
    Id,
    Meta(String),
}

/// An `output_filename` template (Python's `string.Template` syntax: `${name}`, `$name`, `$$`).
#[derive(Debug, Clone, PartialEq)]
pub struct FilenameTemplate {
    parts: Vec<Part>,
}

impl FilenameTemplate {
    /// Parses a template; an invalid `$` is an error naming the template.
    pub fn parse(template: &str) -> Result<FilenameTemplate> {
        let bad = |why: &str| Error::config(format!("output_filename `{template}`: {why}"));
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = template.char_indices().peekable();
        let is_start = |c: char| c == '_' || c.is_ascii_alphabetic();
        let is_cont = |c: char| c == '_' || c.is_ascii_alphanumeric();
        while let Some((_, c)) = chars.next() {
            if c != '$' {
                lit.push(c);
                continue;
            }
            let name = match chars.peek().map(|&(_, c)| c) {
                Some('$') => {
                    chars.next();
                    lit.push('$');
                    continue;
                }
                Some('{') => {
                    chars.next();
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, c)) if is_cont(c) => name.push(c),
                            _ => return Err(bad("unterminated or invalid `${...}`")),
                        }
                    }
                    if !name.starts_with(is_start) {
                        return Err(bad("invalid placeholder name"));
                    }
                    name
                }
                Some(c) if is_start(c) => {
                    let mut name = String::new();
                    while let Some(&(_, c)) = chars.peek() {
                        if !is_cont(c) {
                            break;
                        }
                        name.push(c);
                        chars.next();
                    }
                    name
                }
                _ => return Err(bad("a `$` must start a placeholder (write `$$` for a literal `$`)")),
            };
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            parts.push(match name.as_str() {
                "rank" => Part::Rank,
                "id" => Part::Id,
                _ => Part::Meta(name),
            });
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(FilenameTemplate { parts })
    }

    /// Whether the name is the same for every document of a task.
    pub fn is_per_task(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_) | Part::Rank))
    }

    /// Whether the template contains `${rank}`.
    pub fn has_rank(&self) -> bool {
        self.parts.contains(&Part::Rank)
    }

    /// The file name for `doc`; `rank` is what replaces `${rank}` (`00003`, or `XXXXX` for stats).
    pub fn render(&self, doc: &Document, rank: &str) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Rank => out.push_str(rank),
                Part::Id => out.push_str(&doc.id),
                Part::Meta(key) => match doc.metadata.get(key) {
                    Some(v) => out.push_str(&python_str(v)),
                    None => {
                        return Err(Error::config(format!(
                        "output_filename placeholder `${{{key}}}` is not in the metadata of document `{}`",
                        doc.id
                    )))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// Python's `str()` of a JSON value, as `string.Template` would insert it.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) if n.is_f64() => {
            let mut s = String::new();
            trove_core::pyjson::py_float(&mut s, n.as_f64().unwrap_or(f64::NAN));
            s
        }
        other => other.to_string(),
    }
}

/// One open output file of a format.
pub trait FormatFile: Send {
    /// Writes one document.
    fn write_doc(&mut self, doc: &Document) -> Result<()>;
    /// Bytes written so far (uncompressed), for `max_file_size`.
    fn size(&self) -> u64;
    /// Ends the file; it is published when the task succeeds.
    fn finish(self: Box<Self>) -> Result<Box<dyn AtomicFile>>;
}

/// Opens a new file of a format in a folder.
pub type OpenFn<'a> = dyn Fn(&DataFolder, &str) -> Result<Box<dyn FormatFile>> + Send + Sync + 'a;

/// The shared writer machinery.
pub struct DiskWriter {
    folder: DataFolder,
    template: FilenameTemplate,
    max_file_size: i64,
    open: Box<OpenFn<'static>>,
    files: HashMap<String, Box<dyn FormatFile>>,
    order: Vec<String>,
    file_ids: HashMap<String, usize>,
    rank: String,
    cached: Option<(String, String)>,
}

impl DiskWriter {
    /// A writer into `output_folder`. `output_filename` already carries the compression extension.
    pub fn new(
        output_folder: &str,
        output_filename: &str,
        max_file_size: i64,
        rank: usize,
        open: Box<OpenFn<'static>>,
    ) -> Result<DiskWriter> {
        let template = FilenameTemplate::parse(output_filename)?;
        Ok(DiskWriter {
            folder: DataFolder::open(output_folder)?,
            cached: None,
            template,
            max_file_size,
            open,
            files: HashMap::new(),
            order: Vec::new(),
            file_ids: HashMap::new(),
            rank: format!("{rank:05}"),
        })
    }

    /// DataTrove's rule: a compression's extension is appended to the file name unless present.
    pub fn filename_with_extension(name: &str, compression: Compression) -> String {
        let ext = compression.extension();
        if name.ends_with(ext) {
            name.to_string()
        } else {
            format!("{name}{ext}")
        }
    }

    fn with_file_id(name: &str, id: usize) -> String {
        match name.rsplit_once('/') {
            Some((dir, base)) => format!("{dir}/{id:03}_{base}"),
            None => format!("{id:03}_{name}"),
        }
    }

    /// Writes a document and records DataTrove's writer stats.
    pub fn write(&mut self, doc: &Document, cx: &mut Context<'_>) -> Result<()> {
        let (name, stat_key) = match &self.cached {
            Some((name, key)) => (name.clone(), key.clone()),
            None => {
                let name = self.template.render(doc, &self.rank)?;
                let key = self.template.render(doc, "XXXXX")?;
                if self.template.is_per_task() {
                    self.cached = Some((name.clone(), key.clone()));
                }
                (name, key)
            }
        };
        let mut file_name = name.clone();
        if self.max_file_size > 0 {
            let id = *self.file_ids.entry(name.clone()).or_insert(0);
            file_name = Self::with_file_id(&name, id);
            if self.files.get(&file_name).is_some_and(|f| f.size() >= self.max_file_size as u64) {
                if let Some(full) = self.files.remove(&file_name) {
                    cx.outputs.stage(full.finish()?);
                }
                self.file_ids.insert(name.clone(), id + 1);
                file_name = Self::with_file_id(&name, id + 1);
            }
        }
        if !self.files.contains_key(&file_name) {
            let file = (self.open)(&self.folder, &file_name)?;
            self.order.push(file_name.clone());
            self.files.insert(file_name.clone(), file);
        }
        if let Some(file) = self.files.get_mut(&file_name) {
            file.write_doc(doc)?;
        }
        cx.stats.incr(&stat_key);
        cx.stats.incr("total");
        cx.stats.doc_stats(doc);
        Ok(())
    }

    /// Ends every open file and stages it for publication.
    pub fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        for name in self.order.drain(..) {
            if let Some(file) = self.files.remove(&name) {
                cx.outputs.stage(file.finish()?);
            }
        }
        Ok(())
    }

    /// The output folder.
    pub fn folder(&self) -> &DataFolder {
        &self.folder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_like_python() {
        let doc =
            Document::new("t", "doc-1").with_meta("lang", "en").with_meta("score", 0.5).with_meta("ok", true);
        let render = |t: &str| FilenameTemplate::parse(t).unwrap().render(&doc, "00003").unwrap();
        assert_eq!(render("${rank}.jsonl"), "00003.jsonl");
        assert_eq!(render("$lang/${rank}_$$x.jsonl"), "en/00003_$x.jsonl");
        assert_eq!(render("${id}-${score}-${ok}"), "doc-1-0.5-True");
        assert!(FilenameTemplate::parse("${rank").is_err());
        assert!(FilenameTemplate::parse("a$").is_err());
        let missing = FilenameTemplate::parse("${nope}").unwrap().render(&doc, "0").unwrap_err();
        assert!(missing.to_string().contains("nope") && missing.to_string().contains("doc-1"));
    }
}
