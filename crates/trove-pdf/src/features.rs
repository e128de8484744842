//! The OCR router's PDF features with `lopdf`: the seed's 124 features in its order
//! (`fixtures/pdf/seed/features.json`), computed from the page content streams.
//!
//! The seed computed them with PyMuPDF; here a small content-stream interpreter follows the graphics
//! state (`q`/`Q`/`cm`), text state and showing operators, image and form XObjects and path painting:
//! - a *text box* is a MuPDF span: consecutive glyphs with the same font, size and skew, until a state
//!   change flushes the text; its box is the union of the glyph boxes (font `Widths` for advances,
//!   ascent to descent for height) in page space; *hidden* text is render mode 3 or fill opacity 0;
//! - fonts are those named in the page's (and its forms') resources, used or not, as `get_fonts` does;
//! - a glyph is *garbled* (PyMuPDF's U+FFFD) when its font has no `ToUnicode` and no simple encoding:
//!   composite (Type0) fonts without `ToUnicode`;
//! - images are placements of image XObjects (`Do`, also inside forms); a *junk* image is one on every
//!   sampled page (≥ 50%, at least 3) when at least 3 pages are sampled; strips of images spanning 90%
//!   of the page are merged (offset 5, gap 2) before areas are summed;
//! - a *vector graphics object* is one painted path (a stroke of the path just filled joins it, as in
//!   PyMuPDF); *strokes* are its line and curve segments plus one for a stroked path;
//! - a page object lost to truncation is an empty 612 × 792 page, as MuPDF loads it.
//!
//! `crates/trove-pdf/tests/router.rs` compares these with PyMuPDF's on the seed's samples.
//!
//! Page sampling is seeded: the same bytes and seed give the same pages (the seed's was not).

use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The seed's page slots.
pub const PAGES_TO_SAMPLE: usize = 8;

/// Creator/producer substrings of scanning software (the seed's list).
const SCANNERS: &[&str] = &[
    "scanner",
    "scan",
    "epson",
    "hp scanjet",
    "canon",
    "fujitsu",
    "kodak",
    "brother",
    "xerox",
    "lexmark",
    "kmc",
    "kofax",
    "ricoh",
    "iris",
    "capturedocument",
    "paperport",
    "readiris",
    "simpleocr",
];

/// The 15 page-level feature names, in the model's (key-major) order.
pub const PAGE_FEATURES: [&str; 15] = [
    "page_level_unique_font_counts",
    "page_level_char_counts",
    "page_level_text_box_counts",
    "page_level_avg_text_box_lengths",
    "page_level_text_area_ratios",
    "page_level_hidden_char_counts",
    "page_level_hidden_text_box_counts",
    "page_level_hidden_avg_text_box_lengths",
    "page_level_hidden_text_area_ratios",
    "page_level_image_counts",
    "page_level_non_junk_image_counts",
    "page_level_bitmap_proportions",
    "page_level_max_merged_strip_areas",
    "page_level_drawing_strokes_count",
    "page_level_vector_graphics_obj_count",
];

/// One sampled page's measurements (in [`PAGE_FEATURES`] order via [`PageFeatures::values`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageFeatures {
    /// Distinct font names used.
    pub unique_font_count: usize,
    /// Visible glyphs.
    pub char_count: usize,
    /// Visible text-showing operations.
    pub text_box_count: usize,
    /// Mean area of the visible text boxes (the seed calls it a length).
    pub mean_text_box_area: f64,
    /// Visible text area / page area.
    pub text_area_ratio: f64,
    /// Hidden glyphs.
    pub hidden_char_count: usize,
    /// Hidden text-showing operations.
    pub hidden_text_box_count: usize,
    /// Mean area of hidden text boxes.
    pub mean_hidden_text_box_area: f64,
    /// Hidden text area / page area.
    pub hidden_text_area_ratio: f64,
    /// Image placements.
    pub image_count: usize,
    /// Placements of images that are not junk.
    pub non_junk_image_count: usize,
    /// Merged non-junk image area / page area.
    pub bitmap_proportion: f64,
    /// Largest merged image area / page area.
    pub max_merged_strip_area: f64,
    /// Line and curve segments, plus one per stroked path.
    pub drawing_stroke_count: usize,
    /// Painted paths.
    pub vector_graphics_object_count: usize,
}

impl PageFeatures {
    /// The values in [`PAGE_FEATURES`] order.
    pub fn values(&self) -> [f64; 15] {
        [
            self.unique_font_count as f64,
            self.char_count as f64,
            self.text_box_count as f64,
            self.mean_text_box_area,
            self.text_area_ratio,
            self.hidden_char_count as f64,
            self.hidden_text_box_count as f64,
            self.mean_hidden_text_box_area,
            self.hidden_text_area_ratio,
            self.image_count as f64,
            self.non_junk_image_count as f64,
            self.bitmap_proportion,
            self.max_merged_strip_area,
            self.drawing_stroke_count as f64,
            self.vector_graphics_object_count as f64,
        ]
    }
}

/// What the router learns about one PDF.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PdfFeatures {
    /// Pages in the document.
    pub num_pages: usize,
    /// The file is still encrypted after trying the empty password (PyMuPDF's `is_encrypted`; such a
    /// file fails with [`FeatureError::NeedsPassword`], so a computed feature set has `false`).
    pub is_encrypted: bool,
    /// Encrypted with a password other than the empty one.
    pub needs_password: bool,
    /// Has interactive form fields.
    pub is_form: bool,
    /// Creator or producer names scanning software.
    pub creator_or_producer_is_known_scanner: bool,
    /// Glyphs without a Unicode mapping / all glyphs, on the sampled pages.
    pub garbled_text_ratio: f64,
    /// The sampled pages (0-based, ascending).
    pub sampled_pages: Vec<usize>,
    /// Their measurements.
    pub pages: Vec<PageFeatures>,
}

/// Why features could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// lopdf could not parse the file (even with xref reconstruction).
    #[error("unreadable PDF: {0}")]
    Unreadable(String),
    /// Encrypted with a non-empty password.
    #[error("PDF needs a password")]
    NeedsPassword,
    /// No page could be read.
    #[error("no readable page")]
    NoPages,
    /// The time budget ran out.
    #[error("feature extraction took longer than {0:?}")]
    Timeout(Duration),
}

/// SplitMix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

impl PdfFeatures {
    /// The model's input: 4 document features, then each page feature for slots 1–8. When fewer than 8
    /// pages were sampled, the extra slots repeat sampled pages chosen with the seeded generator (the
    /// seed drew them with numpy's global state).
    pub fn vector(&self, seed: u64) -> Vec<f32> {
        let mut v = vec![
            self.pages.len() as f32,
            self.garbled_text_ratio as f32,
            f32::from(u8::from(self.is_form)),
            f32::from(u8::from(self.creator_or_producer_is_known_scanner)),
        ];
        let n = self.pages.len();
        let mut slots: Vec<usize> = (0..n.min(PAGES_TO_SAMPLE)).collect();
        let mut rng = Rng(seed ^ 0x5EED);
        while n > 0 && slots.len() < PAGES_TO_SAMPLE {
            slots.push(rng.below(n));
        }
        let values: Vec<[f64; 15]> = self.pages.iter().map(PageFeatures::values).collect();
        for (k, _name) in PAGE_FEATURES.iter().enumerate() {
            v.extend(
                (0..PAGES_TO_SAMPLE).map(|slot| slots.get(slot).map_or(f32::NAN, |&p| values[p][k] as f32)),
            );
        }
        v
    }
}

/// Limits for one document.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Wall-clock time for the whole document.
    pub time: Duration,
    /// Decompressed bytes of one content stream.
    pub max_stream_bytes: usize,
    /// Content operators interpreted per page (forms included).
    pub max_operations: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { time: Duration::from_secs(30), max_stream_bytes: 64 << 20, max_operations: 2_000_000 }
    }
}

/// Loads a PDF (empty-password decryption, xref reconstruction for damaged or truncated files).
pub fn load(bytes: &[u8]) -> Result<Document, FeatureError> {
    match Document::load_mem(bytes) {
        // lopdf decrypts with the empty password on load (and then drops `/Encrypt`); a document still
        // encrypted after loading needs a real password.
        Ok(doc) if doc.is_encrypted() => Err(FeatureError::NeedsPassword),
        Ok(mut doc) => {
            recover_object_streams(&mut doc);
            Ok(doc)
        }
        Err(lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword) => Err(FeatureError::NeedsPassword),
        Err(e) => Err(FeatureError::Unreadable(e.to_string())),
    }
}

/// Computes the features of a PDF, sampling at most [`PAGES_TO_SAMPLE`] pages with `seed`.
pub fn extract(bytes: &[u8], seed: u64, budget: Budget) -> Result<PdfFeatures, FeatureError> {
    let start = Instant::now();
    let doc = load(bytes)?;
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    // `is_encrypted` and `needs_password` stay false: PyMuPDF's `is_encrypted` (what the seed recorded)
    // is false once the empty password opened the file, and a file needing another one is an error.
    let mut out = PdfFeatures { num_pages: pages.len(), ..PdfFeatures::default() };
    if pages.is_empty() {
        return Err(FeatureError::NoPages);
    }
    out.is_form = is_form(&doc);
    out.creator_or_producer_is_known_scanner = scanner_made(&doc);
    // Seeded sample of page indices (a partial Fisher-Yates shuffle), sorted.
    let mut rng = Rng(seed ^ fnv(&bytes[..bytes.len().min(4096)]) ^ (bytes.len() as u64).rotate_left(32));
    let mut indices: Vec<usize> = (0..pages.len()).collect();
    let take = pages.len().min(PAGES_TO_SAMPLE);
    for i in 0..take {
        let j = i + rng.below(pages.len() - i);
        indices.swap(i, j);
    }
    let mut sample = indices[..take].to_vec();
    sample.sort_unstable();
    let mut interp = Interpreter {
        doc: &doc,
        fonts: HashMap::new(),
        direct_fonts: HashMap::new(),
        budget,
        deadline: start + budget.time,
    };
    let mut scans = Vec::new();
    for &index in &sample {
        if Instant::now() > interp.deadline {
            return Err(FeatureError::Timeout(budget.time));
        }
        if let Some(scan) = interp.scan_page(pages[index]) {
            out.sampled_pages.push(index);
            scans.push(scan);
        }
    }
    if scans.is_empty() {
        return Err(FeatureError::NoPages);
    }
    // Junk images: on at least max(50% of sampled pages, 3) of them, when 3 or more were sampled.
    let n = scans.len();
    let mut junk = HashSet::new();
    if n >= 3 {
        let threshold = (n as f64 * 0.5).max(3.0).min(n as f64);
        let mut counts: HashMap<ObjectId, usize> = HashMap::new();
        for s in &scans {
            let ids: HashSet<ObjectId> = s.images.iter().map(|i| i.0).collect();
            for id in ids {
                *counts.entry(id).or_default() += 1;
            }
        }
        junk = counts.into_iter().filter(|&(_, c)| c as f64 >= threshold).map(|(id, _)| id).collect();
    }
    let (mut glyphs, mut garbled) = (0usize, 0usize);
    for s in &scans {
        glyphs += s.glyphs;
        garbled += s.garbled;
        out.pages.push(s.features(&junk));
    }
    out.garbled_text_ratio = if glyphs > 0 { garbled as f64 / glyphs as f64 } else { 0.0 };
    Ok(out)
}

/// A file cut before its final cross-reference section loses the objects its object streams hold
/// (lopdf rebuilds the table from the `obj` keywords it finds): unpack every object stream and add the
/// objects still missing, as MuPDF's repair does.
fn recover_object_streams(doc: &mut Document) {
    let missing_page = doc.get_pages().values().any(|id| doc.get_object(*id).is_err());
    if !missing_page {
        return;
    }
    let streams: Vec<ObjectId> = doc
        .objects
        .iter()
        .filter(|(_, o)| matches!(o, Object::Stream(s) if s.dict.get(b"Type").ok().and_then(|t| t.as_name().ok()) == Some(b"ObjStm")))
        .map(|(id, _)| *id)
        .collect();
    for id in streams {
        let Some(Object::Stream(stream)) = doc.objects.get(&id) else { continue };
        let Ok(unpacked) = lopdf::ObjectStream::new_with_limit(stream, Some(64 << 20)) else { continue };
        for (oid, object) in unpacked.objects {
            doc.objects.entry(oid).or_insert(object);
        }
    }
}

fn is_form(doc: &Document) -> bool {
    let Ok(catalog) = doc.catalog() else { return false };
    let Some(form) = catalog.get(b"AcroForm").ok().and_then(|o| deref_dict(doc, o)) else { return false };
    form.get(b"Fields").ok().and_then(|f| deref(doc, f).as_array().ok()).is_some_and(|a| !a.is_empty())
}

fn scanner_made(doc: &Document) -> bool {
    let Some(info) = doc.trailer.get(b"Info").ok().and_then(|o| deref_dict(doc, o)) else { return false };
    [&b"Creator"[..], b"Producer"].iter().any(|key| {
        info.get(key).ok().and_then(|o| deref(doc, o).as_str().ok()).is_some_and(|s| {
            let text = pdf_text_string(s).to_lowercase();
            SCANNERS.iter().any(|name| text.contains(name))
        })
    })
}

/// A PDF text string: UTF-16BE with a BOM, else PDFDocEncoding (read as Latin-1).
fn pdf_text_string(s: &[u8]) -> String {
    if s.starts_with(&[0xFE, 0xFF]) {
        let units: Vec<u16> = s[2..].chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        s.iter().map(|&b| char::from(b)).collect()
    }
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    doc.dereference(o).map(|(_, o)| o).unwrap_or(&Object::Null)
}

fn deref_dict<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    match deref(doc, o) {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn number(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

type Matrix = [f64; 6];

const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a × b` (apply `a`, then `b`), PDF's row-vector convention.
fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5])
}

/// The axis-aligned box of a rectangle's corners under `m`: (x0, y0, x1, y1).
fn bbox(m: &Matrix, x0: f64, y0: f64, x1: f64, y1: f64) -> [f64; 4] {
    let pts = [apply(m, x0, y0), apply(m, x1, y0), apply(m, x0, y1), apply(m, x1, y1)];
    let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for (x, y) in pts {
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    b
}

fn area(b: &[f64; 4]) -> f64 {
    let a = (b[2] - b[0]).abs() * (b[3] - b[1]).abs();
    if a.is_finite() {
        a
    } else {
        0.0
    }
}

#[derive(Debug, Clone)]
struct Font {
    name: String,
    composite: bool,
    /// Glyphs map to Unicode (ToUnicode, or a simple font's encoding).
    unicode: bool,
    first_char: i64,
    widths: Vec<f64>,
    default_width: f64,
    cid_widths: HashMap<u32, f64>,
    ascent: f64,
    descent: f64,
}

impl Font {
    fn width(&self, code: u32) -> f64 {
        if self.composite {
            return self.cid_widths.get(&code).copied().unwrap_or(self.default_width);
        }
        let i = i64::from(code) - self.first_char;
        usize::try_from(i).ok().and_then(|i| self.widths.get(i)).copied().unwrap_or(self.default_width)
    }

    fn load(doc: &Document, dict: &Dictionary) -> Font {
        let name = dict
            .get(b"BaseFont")
            .ok()
            .and_then(|o| match deref(doc, o) {
                Object::Name(n) => Some(String::from_utf8_lossy(n).into_owned()),
                _ => None,
            })
            .unwrap_or_default();
        let subtype = dict.get(b"Subtype").ok().and_then(|o| deref(doc, o).as_name().ok()).unwrap_or(b"");
        let composite = subtype == b"Type0";
        let has_to_unicode = dict.has(b"ToUnicode");
        let mut font = Font {
            name,
            composite,
            unicode: has_to_unicode || !composite,
            first_char: 0,
            widths: Vec::new(),
            default_width: if composite { 1000.0 } else { 500.0 },
            cid_widths: HashMap::new(),
            ascent: 0.8,
            descent: -0.2,
        };
        let mut descriptor_owner = dict;
        if composite {
            let descendant = dict
                .get(b"DescendantFonts")
                .ok()
                .and_then(|o| deref(doc, o).as_array().ok())
                .and_then(|a| a.first())
                .and_then(|o| deref_dict(doc, o));
            if let Some(desc) = descendant {
                descriptor_owner = desc;
                if let Some(dw) = desc.get(b"DW").ok().and_then(|o| number(deref(doc, o))) {
                    font.default_width = dw;
                }
                if let Some(w) = desc.get(b"W").ok().and_then(|o| deref(doc, o).as_array().ok()) {
                    parse_cid_widths(doc, w, &mut font.cid_widths);
                }
            }
        } else {
            font.first_char =
                dict.get(b"FirstChar").ok().and_then(|o| number(deref(doc, o))).unwrap_or(0.0) as i64;
            if let Some(w) = dict.get(b"Widths").ok().and_then(|o| deref(doc, o).as_array().ok()) {
                font.widths = w.iter().map(|o| number(deref(doc, o)).unwrap_or(0.0)).collect();
            }
        }
        if let Some(fd) = descriptor_owner.get(b"FontDescriptor").ok().and_then(|o| deref_dict(doc, o)) {
            let get = |k: &[u8]| fd.get(k).ok().and_then(|o| number(deref(doc, o)));
            if let (Some(a), Some(d)) = (get(b"Ascent"), get(b"Descent")) {
                if a > d && a - d > 0.0 && a - d < 5000.0 {
                    font.ascent = a / 1000.0;
                    font.descent = d.min(0.0) / 1000.0;
                }
            }
            if !composite {
                if let Some(mw) = get(b"MissingWidth") {
                    font.default_width = mw;
                }
            }
        }
        font
    }
}

/// A CIDFont `W` array: `c [w1 w2 ...]` or `c_first c_last w`.
fn parse_cid_widths(doc: &Document, w: &[Object], out: &mut HashMap<u32, f64>) {
    let mut i = 0;
    while i < w.len() && out.len() < 1 << 16 {
        let Some(first) = number(deref(doc, &w[i])) else { break };
        match w.get(i + 1).map(|o| deref(doc, o)) {
            Some(Object::Array(ws)) => {
                for (k, o) in ws.iter().enumerate() {
                    out.insert(first as u32 + k as u32, number(deref(doc, o)).unwrap_or(0.0));
                }
                i += 2;
            }
            Some(o) => {
                let (Some(last), Some(width)) = (number(o), w.get(i + 2).and_then(|o| number(deref(doc, o))))
                else {
                    break;
                };
                let (first, last) = (first as u32, (last as u32).min(first as u32 + 65_535));
                for c in first..=last {
                    out.insert(c, width);
                }
                i += 3;
            }
            None => break,
        }
    }
}

/// What one page's content showed.
#[derive(Debug, Default)]
struct PageScan {
    page_area: f64,
    page_width: f64,
    page_height: f64,
    fonts: HashSet<String>,
    text: [(usize, usize, f64); 2], // (glyphs, boxes, area): visible, hidden
    glyphs: usize,
    garbled: usize,
    images: Vec<(ObjectId, [f64; 4])>,
    strokes: usize,
    paths: usize,
    span: Option<Span>,
    /// The last painted path's segments, when it was filled and not stroked (a stroke of the same
    /// path right after joins it, as PyMuPDF joins them into one `fs` path).
    last_fill: Option<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq)]
struct SpanKey {
    font: Option<ObjectId>,
    hidden: bool,
    linear: [i64; 4],
}

#[derive(Debug, Clone)]
struct Span {
    key: SpanKey,
    glyphs: usize,
    bbox: [f64; 4],
}

fn union(a: &[f64; 4], b: &[f64; 4]) -> [f64; 4] {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

impl PageScan {
    /// Ends the current text span: one text box.
    fn flush_span(&mut self) {
        if let Some(span) = self.span.take() {
            let slot = &mut self.text[usize::from(span.key.hidden)];
            slot.0 += span.glyphs;
            slot.1 += 1;
            slot.2 += area(&span.bbox);
        }
    }

    fn features(&self, junk: &HashSet<ObjectId>) -> PageFeatures {
        let [(chars, boxes, text_area), (h_chars, h_boxes, h_area)] = self.text;
        let mut rects: Vec<[f64; 4]> = self
            .images
            .iter()
            .filter(|(id, _)| !junk.contains(id))
            .map(|(_, b)| *b)
            .filter(|b| area(b) > 0.0)
            .collect();
        let non_junk = self.images.iter().filter(|(id, _)| !junk.contains(id)).count();
        let merged = merge_strips(&mut rects, self.page_width, self.page_height);
        let areas: Vec<f64> = merged.iter().map(area).collect();
        let page = self.page_area;
        PageFeatures {
            unique_font_count: self.fonts.len(),
            char_count: chars,
            text_box_count: boxes,
            mean_text_box_area: if boxes > 0 { text_area / boxes as f64 } else { 0.0 },
            text_area_ratio: text_area / page,
            hidden_char_count: h_chars,
            hidden_text_box_count: h_boxes,
            mean_hidden_text_box_area: if h_boxes > 0 { h_area / h_boxes as f64 } else { 0.0 },
            hidden_text_area_ratio: h_area / page,
            image_count: self.images.len(),
            non_junk_image_count: non_junk,
            bitmap_proportion: areas.iter().sum::<f64>() / page,
            max_merged_strip_area: areas.iter().copied().fold(0.0, f64::max) / page,
            drawing_stroke_count: self.strokes,
            vector_graphics_object_count: self.paths,
        }
    }
}

/// The seed's strip merge: dedupe boxes, sort by (y0, x0), merge a full-width box into the previous one
/// when aligned within 5 and the vertical gap is at most 2 (full-height boxes likewise horizontally).
pub fn merge_strips(rects: &mut Vec<[f64; 4]>, width: f64, height: f64) -> Vec<[f64; 4]> {
    let mut seen = HashSet::new();
    rects.retain(|r| seen.insert(r.map(f64::to_bits)));
    rects.sort_by(|a, b| a[1].total_cmp(&b[1]).then(a[0].total_cmp(&b[0])));
    let mut merged: Vec<[f64; 4]> = Vec::new();
    for cur in rects.iter() {
        let Some(last) = merged.last_mut() else {
            merged.push(*cur);
            continue;
        };
        let full_width = width > 0.0 && (cur[2] - cur[0]).abs() >= width * 0.9;
        let full_height = height > 0.0 && (cur[3] - cur[1]).abs() >= height * 0.9;
        let mut can = full_width
            && (last[0] - cur[0]).abs() <= 5.0
            && (last[2] - cur[2]).abs() <= 5.0
            && (cur[1] - last[3]).abs() <= 2.0;
        if !can && full_height {
            can = (last[1] - cur[1]).abs() <= 5.0
                && (last[3] - cur[3]).abs() <= 5.0
                && (cur[0] - last[2]).abs() <= 2.0;
        }
        if can {
            *last = [cur[0].min(last[0]), cur[1].min(last[1]), cur[2].max(last[2]), cur[3].max(last[3])];
        } else {
            merged.push(*cur);
        }
    }
    merged
}

#[derive(Debug, Clone)]
struct GState {
    ctm: Matrix,
    font: Option<ObjectId>,
    font_key: Vec<u8>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
    rise: f64,
    render: i64,
    fill_alpha: f64,
    stroke_alpha: f64,
}

impl Default for GState {
    fn default() -> Self {
        GState {
            ctm: IDENTITY,
            font: None,
            font_key: Vec::new(),
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
            render: 0,
            fill_alpha: 1.0,
            stroke_alpha: 1.0,
        }
    }
}

struct Interpreter<'a> {
    doc: &'a Document,
    fonts: HashMap<ObjectId, Font>,
    /// Font dictionaries written directly in a resource dictionary (no object id): by address, given
    /// ids counted down from `u32::MAX` so they never meet a real object's.
    direct_fonts: HashMap<usize, ObjectId>,
    budget: Budget,
    deadline: Instant,
}

/// Resources: the page's, or a form's (falling back to the enclosing ones).
#[derive(Clone, Copy)]
struct Res<'a> {
    dict: Option<&'a Dictionary>,
    parent: Option<&'a Dictionary>,
}

impl<'a> Interpreter<'a> {
    fn scan_page(&mut self, page: ObjectId) -> Option<PageScan> {
        let doc = self.doc;
        // A page object lost to truncation is an empty page, as MuPDF loads it (it still counts in
        // the page tree).
        let Ok(page_dict) = doc.get_dictionary(page) else {
            return Some(PageScan {
                page_area: 612.0 * 792.0,
                page_width: 612.0,
                page_height: 792.0,
                ..PageScan::default()
            });
        };
        let rect = inherited(doc, page_dict, b"CropBox")
            .or_else(|| inherited(doc, page_dict, b"MediaBox"))
            .and_then(|o| deref(doc, o).as_array().ok())
            .map(|a| a.iter().map(|o| number(deref(doc, o)).unwrap_or(0.0)).collect::<Vec<_>>())
            .filter(|r| r.len() == 4)
            .unwrap_or_else(|| vec![0.0, 0.0, 612.0, 792.0]);
        let (width, height) = ((rect[2] - rect[0]).abs(), (rect[3] - rect[1]).abs());
        let mut scan = PageScan { page_width: width, page_height: height, ..PageScan::default() };
        scan.page_area = if width * height > 0.0 { width * height } else { 1.0 };
        // A damaged or cut content stream reads as far as it goes (MuPDF still loads such a page).
        let content =
            doc.get_page_content_with_limit(page, self.budget.max_stream_bytes).unwrap_or_else(|_| {
                let mut all = Vec::new();
                for id in doc.get_page_contents(page) {
                    if let Ok(Object::Stream(s)) = doc.get_object(id) {
                        if let Ok(data) = s.decompressed_content_with_limit(self.budget.max_stream_bytes) {
                            all.extend_from_slice(&data);
                            all.push(b'\n');
                        }
                    }
                }
                all
            });
        let resources = doc.get_page_resources(page).ok().and_then(|(r, _)| r);
        let resources =
            resources.or_else(|| inherited(doc, page_dict, b"Resources").and_then(|o| deref_dict(doc, o)));
        let mut ops = 0usize;
        self.run(&content, Res { dict: resources, parent: None }, GState::default(), &mut scan, &mut ops, 0);
        scan.flush_span();
        Some(scan)
    }

    fn resource(&self, res: Res<'a>, category: &[u8], key: &[u8]) -> Option<(Option<ObjectId>, &'a Object)> {
        for dict in [res.dict, res.parent].into_iter().flatten() {
            let Some(cat) = dict.get(category).ok().and_then(|o| deref_dict(self.doc, o)) else { continue };
            if let Ok(o) = cat.get(key) {
                let id = match o {
                    Object::Reference(id) => Some(*id),
                    _ => None,
                };
                return Some((id, deref(self.doc, o)));
            }
        }
        None
    }

    fn run(
        &mut self,
        content: &[u8],
        res: Res<'a>,
        initial: GState,
        scan: &mut PageScan,
        ops: &mut usize,
        depth: usize,
    ) {
        // PyMuPDF's `get_fonts` lists the fonts in the resources, used or not.
        if let Some(fonts) = res.dict.and_then(|d| d.get(b"Font").ok()).and_then(|o| deref_dict(self.doc, o))
        {
            for (key, font) in fonts.iter() {
                let name = deref_dict(self.doc, font)
                    .and_then(|d| d.get(b"BaseFont").ok())
                    .and_then(|o| deref(self.doc, o).as_name().ok())
                    .map(|n| String::from_utf8_lossy(n).into_owned());
                scan.fonts.insert(name.unwrap_or_else(|| String::from_utf8_lossy(key).into_owned()));
            }
        }
        let Ok(parsed) = lopdf::content::Content::decode(content) else { return };
        let mut stack: Vec<GState> = Vec::new();
        let mut gs = initial;
        let (mut tm, mut tlm) = (IDENTITY, IDENTITY);
        let mut path_segments = 0usize;
        let mut path: Vec<u64> = Vec::new();
        for op in &parsed.operations {
            *ops += 1;
            if *ops > self.budget.max_operations || (*ops % 4096 == 0 && Instant::now() > self.deadline) {
                break;
            }
            let f = |i: usize| op.operands.get(i).and_then(number).unwrap_or(0.0);
            // What ends a run of text in MuPDF: the text object, state and colour changes, other drawing.
            if matches!(
                op.operator.as_str(),
                "ET" | "q"
                    | "Q"
                    | "cm"
                    | "gs"
                    | "Do"
                    | "Tr"
                    | "rg"
                    | "RG"
                    | "g"
                    | "G"
                    | "k"
                    | "K"
                    | "sc"
                    | "SC"
                    | "scn"
                    | "SCN"
                    | "cs"
                    | "CS"
                    | "S"
                    | "s"
                    | "f"
                    | "F"
                    | "f*"
                    | "B"
                    | "B*"
                    | "b"
                    | "b*"
                    | "BI"
                    | "sh"
            ) {
                scan.flush_span();
            }
            match op.operator.as_str() {
                "q" if stack.len() < 256 => stack.push(gs.clone()),
                "Q" => {
                    if let Some(g) = stack.pop() {
                        gs = g;
                    }
                }
                "cm" => gs.ctm = mul(&[f(0), f(1), f(2), f(3), f(4), f(5)], &gs.ctm),
                "gs" => {
                    if let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) {
                        if let Some((_, o)) = self.resource(res, b"ExtGState", name) {
                            if let Some(d) = deref_dict(self.doc, o) {
                                if let Some(a) = d.get(b"ca").ok().and_then(number) {
                                    gs.fill_alpha = a;
                                }
                                if let Some(a) = d.get(b"CA").ok().and_then(number) {
                                    gs.stroke_alpha = a;
                                }
                            }
                        }
                    }
                }
                "BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                "Tf" => {
                    gs.size = f(1);
                    if let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) {
                        gs.font_key = name.to_vec();
                        gs.font = None;
                        if let Some((id, o)) = self.resource(res, b"Font", name) {
                            if let Some(d) = deref_dict(self.doc, o) {
                                let id = id.unwrap_or_else(|| {
                                    let next = (u32::MAX - self.direct_fonts.len() as u32, 0);
                                    *self.direct_fonts.entry(d as *const Dictionary as usize).or_insert(next)
                                });
                                let doc = self.doc;
                                self.fonts.entry(id).or_insert_with(|| Font::load(doc, d));
                                gs.font = Some(id);
                            }
                        }
                    }
                }
                "Tc" => gs.char_spacing = f(0),
                "Tw" => gs.word_spacing = f(0),
                "Tz" => gs.scale = f(0) / 100.0,
                "TL" => gs.leading = f(0),
                "Ts" => gs.rise = f(0),
                "Tr" => gs.render = f(0) as i64,
                "Td" | "TD" => {
                    if op.operator == "TD" {
                        gs.leading = -f(1);
                    }
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, f(0), f(1)], &tlm);
                    tm = tlm;
                }
                "Tm" => {
                    tlm = [f(0), f(1), f(2), f(3), f(4), f(5)];
                    tm = tlm;
                }
                "T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                    tm = tlm;
                }
                "Tj" | "'" | "\"" | "TJ" => {
                    if op.operator != "Tj" && op.operator != "TJ" {
                        if op.operator == "\"" {
                            gs.word_spacing = f(0);
                            gs.char_spacing = f(1);
                        }
                        tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.leading], &tlm);
                        tm = tlm;
                    }
                    self.show(op, &gs, &mut tm, scan);
                }
                "Do" => {
                    let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else { continue };
                    let Some((id, Object::Stream(stream))) = self.resource(res, b"XObject", name) else {
                        continue;
                    };
                    let subtype =
                        stream.dict.get(b"Subtype").ok().and_then(|o| o.as_name().ok()).unwrap_or(b"");
                    if subtype == b"Image" {
                        let id = id.unwrap_or((0, 0));
                        scan.images.push((id, bbox(&gs.ctm, 0.0, 0.0, 1.0, 1.0)));
                    } else if subtype == b"Form" && depth < 8 {
                        let matrix = stream
                            .dict
                            .get(b"Matrix")
                            .ok()
                            .and_then(|o| o.as_array().ok())
                            .map(|a| a.iter().map(|o| number(o).unwrap_or(0.0)).collect::<Vec<_>>())
                            .filter(|m| m.len() == 6)
                            .map_or(IDENTITY, |m| [m[0], m[1], m[2], m[3], m[4], m[5]]);
                        let form_res =
                            stream.dict.get(b"Resources").ok().and_then(|o| deref_dict(self.doc, o));
                        let Ok(data) = stream
                            .decompressed_content_with_limit(self.budget.max_stream_bytes)
                            .or_else(|_| {
                                if stream.dict.has(b"Filter") {
                                    Err(())
                                } else {
                                    Ok(stream.content.clone())
                                }
                            })
                        else {
                            continue;
                        };
                        let mut inner = gs.clone();
                        inner.ctm = mul(&matrix, &gs.ctm);
                        let inner_res = Res { dict: form_res.or(res.dict), parent: res.dict };
                        self.run(&data, inner_res, inner, scan, ops, depth + 1);
                    }
                }
                "m" | "l" | "c" | "v" | "y" | "re" | "h" => {
                    if matches!(op.operator.as_str(), "l" | "c" | "v" | "y") {
                        path_segments += 1;
                    }
                    // The path's shape, to recognise a stroke of the path just filled.
                    path.push(
                        fnv(op.operator.as_bytes())
                            ^ op.operands
                                .iter()
                                .filter_map(number)
                                .fold(0u64, |h, v| (h ^ v.to_bits()).wrapping_mul(0x100_0000_01b3)),
                    );
                }
                "S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" => {
                    if !path.is_empty() {
                        let stroked = matches!(op.operator.as_str(), "S" | "s" | "B" | "B*" | "b" | "b*");
                        let filled = !matches!(op.operator.as_str(), "S" | "s");
                        let joins = stroked && !filled && scan.last_fill.as_ref() == Some(&path);
                        if !joins {
                            scan.paths += 1;
                            scan.strokes += path_segments;
                        }
                        if stroked && gs.stroke_alpha > 0.0 {
                            scan.strokes += 1;
                        }
                        scan.last_fill =
                            if filled && !stroked { Some(std::mem::take(&mut path)) } else { None };
                    }
                    path_segments = 0;
                    path.clear();
                }
                "n" => {
                    path_segments = 0;
                    path.clear();
                }
                _ => {}
            }
        }
    }

    /// One text-showing operation: its glyphs join the current span (or start one) and it advances.
    fn show(&mut self, op: &lopdf::content::Operation, gs: &GState, tm: &mut Matrix, scan: &mut PageScan) {
        let Some(font) = gs.font.and_then(|id| self.fonts.get(&id)) else { return };
        let mut glyphs = 0usize;
        let mut advance = 0.0f64;
        let text = |bytes: &[u8], advance: &mut f64, glyphs: &mut usize| {
            let codes: Vec<u32> = if font.composite {
                bytes
                    .chunks(2)
                    .map(|c| {
                        if c.len() == 2 {
                            u32::from(u16::from_be_bytes([c[0], c[1]]))
                        } else {
                            u32::from(c[0])
                        }
                    })
                    .collect()
            } else {
                bytes.iter().map(|&b| u32::from(b)).collect()
            };
            for code in codes {
                let w = font.width(code) / 1000.0 * gs.size;
                let space = if !font.composite && code == 32 { gs.word_spacing } else { 0.0 };
                *advance += (w + gs.char_spacing + space) * gs.scale;
                *glyphs += 1;
            }
        };
        let items: Vec<&Object> = match op.operator.as_str() {
            "TJ" => op
                .operands
                .first()
                .and_then(|o| o.as_array().ok())
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            "\"" => op.operands.get(2).into_iter().collect(),
            _ => op.operands.first().into_iter().collect(),
        };
        for item in items {
            match item {
                Object::String(s, _) => text(s, &mut advance, &mut glyphs),
                other => {
                    if let Some(n) = number(other) {
                        advance -= n / 1000.0 * gs.size * gs.scale;
                    }
                }
            }
        }
        if glyphs == 0 {
            return;
        }
        let m = mul(tm, &gs.ctm);
        let b = bbox(&m, 0.0, gs.rise + font.descent * gs.size, advance, gs.rise + font.ascent * gs.size);
        let hidden = gs.render == 3 || gs.fill_alpha == 0.0;
        // MuPDF's span: glyphs in a row with the same font, rendering and size/skew (the linear part of
        // the text rendering matrix), until the text is flushed.
        let key = SpanKey {
            font: gs.font,
            hidden,
            linear: [m[0], m[1], m[2], m[3]].map(|v| (v * gs.size * 1000.0).round() as i64),
        };
        match &mut scan.span {
            Some(span) if span.key == key => {
                span.glyphs += glyphs;
                span.bbox = union(&span.bbox, &b);
            }
            _ => {
                scan.flush_span();
                scan.span = Some(Span { key, glyphs, bbox: b });
            }
        }
        scan.glyphs += glyphs;
        if !font.unicode {
            scan.garbled += glyphs;
        }
        if !font.name.is_empty() {
            scan.fonts.insert(font.name.clone());
        } else {
            scan.fonts.insert(String::from_utf8_lossy(&gs.font_key).into_owned());
        }
        *tm = mul(&[1.0, 0.0, 0.0, 1.0, advance, 0.0], tm);
    }
}

/// A page attribute, looked up through its `Parent` chain.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut dict = page;
    for _ in 0..32 {
        if let Ok(o) = dict.get(key) {
            return Some(o);
        }
        dict = dict.get(b"Parent").ok().and_then(|o| deref_dict(doc, o))?;
    }
    None
}
