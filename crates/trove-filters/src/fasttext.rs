//! fastText supervised models (`.bin` and quantized `.ftz`), prediction only: a port of fastText's
//! `Dictionary::getLine`, `Model::predict` and its softmax and hierarchical-softmax losses, with the same
//! float32 arithmetic, so labels and scores agree with the `fasttext` Python wheel (DataTrove's
//! language identifier).

use std::path::Path;
use trove_core::hash::FxHashMap;
use trove_core::{Error, Result};

const MAGIC: i32 = 793_712_314;
const EOS: &str = "</s>";

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or_else(|| {
            Error::data(self.path, format!("byte {}", self.pos), "unexpected end of the model file")
        })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap_or([0; 4])))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap_or([0; 8])))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap_or([0; 8])))
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| self.bad("size overflow"))?)?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
    fn count(&mut self, what: &str) -> Result<usize> {
        let v = self.i64()?;
        usize::try_from(v).map_err(|_| self.bad(&format!("negative {what}")))
    }
    fn bad(&self, why: &str) -> Error {
        Error::data(self.path, format!("byte {}", self.pos), why.to_string())
    }
}

struct ProductQuantizer {
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

const KSUB: usize = 256;

impl ProductQuantizer {
    fn load(c: &mut Cursor<'_>) -> Result<ProductQuantizer> {
        let dim = c.i32()? as usize;
        let nsubq = c.i32()? as usize;
        let dsub = c.i32()? as usize;
        let lastdsub = c.i32()? as usize;
        let centroids = c.f32s(dim * KSUB)?;
        if nsubq == 0 || (nsubq - 1) * KSUB * dsub + KSUB * lastdsub > centroids.len() {
            return Err(c.bad("inconsistent product quantizer"));
        }
        Ok(ProductQuantizer { nsubq, dsub, lastdsub, centroids })
    }
    fn centroid(&self, m: usize, i: u8) -> &[f32] {
        let i = i as usize;
        if m == self.nsubq - 1 {
            let at = m * KSUB * self.dsub + i * self.lastdsub;
            &self.centroids[at..at + self.lastdsub]
        } else {
            let at = (m * KSUB + i) * self.dsub;
            &self.centroids[at..at + self.dsub]
        }
    }
}

enum Matrix {
    Dense { n: usize, data: Vec<f32> },
    Quant { codes: Vec<u8>, pq: ProductQuantizer, norms: Option<(Vec<u8>, ProductQuantizer)>, rows: usize },
}

impl Matrix {
    fn load(c: &mut Cursor<'_>, quant: bool) -> Result<Matrix> {
        if !quant {
            let m = c.count("rows")?;
            let n = c.count("columns")?;
            let data = c.f32s(m.checked_mul(n).ok_or_else(|| c.bad("matrix too large"))?)?;
            return Ok(Matrix::Dense { n, data });
        }
        let qnorm = c.u8()? != 0;
        let m = c.count("rows")?;
        let _n = c.count("columns")?;
        let codesize = c.i32()? as usize;
        let codes = c.take(codesize)?.to_vec();
        let pq = ProductQuantizer::load(c)?;
        if codes.len() < m * pq.nsubq {
            return Err(c.bad("too few codes for the matrix"));
        }
        let norms = if qnorm {
            let norm_codes = c.take(m)?.to_vec();
            Some((norm_codes, ProductQuantizer::load(c)?))
        } else {
            None
        };
        Ok(Matrix::Quant { codes, pq, norms, rows: m })
    }

    fn rows(&self) -> usize {
        match self {
            Matrix::Dense { n, data } => data.len() / (*n).max(1),
            Matrix::Quant { rows, .. } => *rows,
        }
    }

    fn add_row(&self, x: &mut [f32], i: usize) {
        match self {
            Matrix::Dense { n, data } => {
                for (xj, a) in x.iter_mut().zip(&data[i * n..(i + 1) * n]) {
                    *xj += a;
                }
            }
            Matrix::Quant { codes, pq, norms, .. } => {
                let alpha = norms.as_ref().map_or(1.0, |(nc, npq)| npq.centroid(0, nc[i])[0]);
                let code = &codes[pq.nsubq * i..pq.nsubq * (i + 1)];
                for (m, &cm) in code.iter().enumerate() {
                    for (j, cv) in pq.centroid(m, cm).iter().enumerate() {
                        x[m * pq.dsub + j] += alpha * cv;
                    }
                }
            }
        }
    }

    fn dot_row(&self, x: &[f32], i: usize) -> f32 {
        match self {
            Matrix::Dense { n, data } => {
                let mut d = 0.0f32;
                for (a, b) in data[i * n..(i + 1) * n].iter().zip(x) {
                    d += a * b;
                }
                d
            }
            Matrix::Quant { codes, pq, norms, .. } => {
                let alpha = norms.as_ref().map_or(1.0, |(nc, npq)| npq.centroid(0, nc[i])[0]);
                let code = &codes[pq.nsubq * i..pq.nsubq * (i + 1)];
                let mut res = 0.0f32;
                for (m, &cm) in code.iter().enumerate() {
                    for (j, cv) in pq.centroid(m, cm).iter().enumerate() {
                        res += x[m * pq.dsub + j] * cv;
                    }
                }
                res * alpha
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Node {
    left: i64,
    right: i64,
    count: i64,
}

/// A loaded supervised fastText model.
pub struct FastText {
    dim: usize,
    minn: usize,
    maxn: usize,
    word_ngrams: usize,
    bucket: u64,
    hierarchical: bool,
    words: FxHashMap<String, usize>,
    nwords: usize,
    labels: Vec<String>,
    subwords: Vec<Vec<usize>>,
    /// fastText's `pruneidx_` (n-gram bucket → kept row); `None` when not pruned.
    pruneidx: Option<PruneIndex>,
    input: Matrix,
    output: Matrix,
    tree: Vec<Node>,
}

/// fastText's string hash (FNV-1a over signed bytes).
/// fastText's `pruneidx_` as a rank-select bitmap over the hash buckets: one bit per bucket and a
/// running count per 64 buckets (≈ 380 KB for lid.176's 2M buckets, so it stays in cache), then the
/// kept rows in bucket order. A lookup is two loads and a popcount instead of a hash probe.
struct PruneIndex {
    bits: Vec<u64>,
    before: Vec<u32>,
    rows: Vec<i32>,
}

impl PruneIndex {
    fn new(buckets: usize, mut pairs: Vec<(i32, i32)>) -> PruneIndex {
        pairs.retain(|&(b, to)| b >= 0 && (b as usize) < buckets && to >= 0);
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        let mut bits = vec![0u64; buckets.div_ceil(64)];
        for &(b, _) in &pairs {
            bits[b as usize / 64] |= 1 << (b as usize % 64);
        }
        let mut before = Vec::with_capacity(bits.len());
        let mut count = 0u32;
        for w in &bits {
            before.push(count);
            count += w.count_ones();
        }
        PruneIndex { bits, before, rows: pairs.into_iter().map(|p| p.1).collect() }
    }

    #[inline]
    fn get(&self, bucket: i64) -> Option<i32> {
        let b = usize::try_from(bucket).ok()?;
        let word = *self.bits.get(b / 64)?;
        let bit = 1u64 << (b % 64);
        if word & bit == 0 {
            return None;
        }
        let rank = self.before[b / 64] as usize + (word & (bit - 1)).count_ones() as usize;
        self.rows.get(rank).copied()
    }
}

const FNV_OFFSET: u32 = 2_166_136_261;

/// fastText's FNV-1a step over more bytes (each byte sign-extended, as fastText hashes `char`s).
#[inline]
fn fnv_extend(mut h: u32, s: &[u8]) -> u32 {
    for &b in s {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// fastText's dictionary hash.
fn hash(s: &[u8]) -> u32 {
    fnv_extend(FNV_OFFSET, s)
}

/// fastText's `std_log`: `std::log(x + 1e-5)`, computed in double (the constant is a double).
fn std_log(x: f32) -> f32 {
    (f64::from(x) + 1e-5).ln() as f32
}

impl FastText {
    /// Loads a `.bin` or `.ftz` supervised model.
    pub fn load(path: &Path) -> Result<FastText> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut c = Cursor { data: &data, pos: 0, path };
        if c.i32()? != MAGIC {
            return Err(c.bad("not a fastText model (bad magic number)"));
        }
        let _version = c.i32()?;
        let dim = c.i32()? as usize;
        let _ws = c.i32()?;
        let _epoch = c.i32()?;
        let _min_count = c.i32()?;
        let _neg = c.i32()?;
        let word_ngrams = c.i32()?.max(1) as usize;
        let loss = c.i32()?;
        let model = c.i32()?;
        let bucket = c.i32()?.max(0) as u64;
        let minn = c.i32()?.max(0) as usize;
        let maxn = c.i32()?.max(0) as usize;
        let _lr_update = c.i32()?;
        let _t = c.f64()?;
        if model != 3 {
            return Err(c.bad("not a supervised model"));
        }
        let size = c.i32()?.max(0) as usize;
        let nwords = c.i32()?.max(0) as usize;
        let nlabels = c.i32()?.max(0) as usize;
        let _ntokens = c.i64()?;
        let pruneidx_size = c.i64()?;
        let mut words = FxHashMap::default();
        let mut labels = Vec::new();
        let mut counts = Vec::new();
        let mut word_list = Vec::new();
        for i in 0..size {
            let rest = &c.data[c.pos..];
            let len = memchr::memchr(0, rest).ok_or_else(|| c.bad("unterminated dictionary entry"))?;
            let word = String::from_utf8_lossy(&rest[..len]).into_owned();
            c.pos += len + 1;
            let count = c.i64()?;
            let kind = c.u8()?;
            if kind == 1 {
                labels.push(word);
                counts.push(count);
            } else {
                words.insert(word.clone(), i);
                word_list.push(word);
            }
        }
        if words.len() != nwords || labels.len() != nlabels || nlabels == 0 {
            return Err(c.bad("dictionary sizes do not match"));
        }
        let pruneidx = if pruneidx_size >= 0 {
            let mut pairs = Vec::with_capacity(usize::try_from(pruneidx_size).unwrap_or(0).min(1 << 24));
            for _ in 0..pruneidx_size {
                let first = c.i32()?;
                let second = c.i32()?;
                pairs.push((first, second));
            }
            Some(PruneIndex::new(usize::try_from(bucket).unwrap_or(0), pairs))
        } else {
            None
        };
        let quant = c.u8()? != 0;
        let input = Matrix::load(&mut c, quant)?;
        let qout = c.u8()? != 0;
        let output = Matrix::load(&mut c, quant && qout)?;
        let mut ft = FastText {
            dim,
            minn,
            maxn,
            word_ngrams,
            bucket,
            hierarchical: loss == 1,
            words,
            nwords,
            labels,
            subwords: Vec::new(),
            pruneidx,
            input,
            output,
            tree: Vec::new(),
        };
        ft.subwords = word_list
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut ids = vec![i];
                if w != EOS {
                    ft.char_ngrams(&format!("<{w}>"), &mut ids);
                }
                ids
            })
            .collect();
        if ft.hierarchical {
            ft.build_tree(&counts);
        }
        let rows = ft.input.rows();
        if ft.subwords.iter().flatten().any(|&id| id >= rows) {
            return Err(Error::data(path, "input matrix", "fewer rows than the dictionary needs"));
        }
        Ok(ft)
    }

    fn push_hash(&self, out: &mut Vec<usize>, id: i64) {
        let id = match &self.pruneidx {
            Some(prune) => match prune.get(id) {
                Some(to) => i64::from(to),
                None => return,
            },
            None => id,
        };
        if id >= 0 {
            out.push(self.nwords + id as usize);
        }
    }

    fn char_ngrams(&self, word: &str, out: &mut Vec<usize>) {
        if self.maxn == 0 || self.bucket == 0 {
            return;
        }
        let w = word.as_bytes();
        for i in 0..w.len() {
            if w[i] & 0xC0 == 0x80 {
                continue;
            }
            let mut j = i;
            let mut n = 1;
            // FNV-1a is incremental: the hash of w[i..j] extends the hash of the shorter n-gram.
            let mut h32: u32 = FNV_OFFSET;
            while j < w.len() && n <= self.maxn {
                let from = j;
                j += 1;
                while j < w.len() && w[j] & 0xC0 == 0x80 {
                    j += 1;
                }
                h32 = fnv_extend(h32, &w[from..j]);
                if n >= self.minn && !(n == 1 && (i == 0 || j == w.len())) {
                    let h = u64::from(h32) % self.bucket;
                    self.push_hash(out, h as i64);
                }
                n += 1;
            }
        }
    }

    fn build_tree(&mut self, counts: &[i64]) {
        let osz = counts.len();
        let mut tree = vec![Node { left: -1, right: -1, count: 1_000_000_000_000_000 }; 2 * osz - 1];
        for (t, &c) in tree.iter_mut().zip(counts) {
            t.count = c;
        }
        let mut leaf = osz as i64 - 1;
        let mut node = osz;
        for i in osz..2 * osz - 1 {
            let mut mini = [0i64; 2];
            for m in &mut mini {
                if leaf >= 0 && tree[leaf as usize].count < tree[node].count {
                    *m = leaf;
                    leaf -= 1;
                } else {
                    *m = node as i64;
                    node += 1;
                }
            }
            tree[i].left = mini[0];
            tree[i].right = mini[1];
            tree[i].count = tree[mini[0] as usize].count + tree[mini[1] as usize].count;
        }
        self.tree = tree;
    }

    /// The input rows of a line of text (fastText's `getLine` for supervised models, plus the
    /// end-of-sentence token the Python wrapper's trailing newline adds).
    fn line_ids(&self, text: &str) -> Vec<usize> {
        let mut ids = Vec::new();
        let mut hashes = Vec::new();
        let is_sep = |c: char| matches!(c, ' ' | '\n' | '\r' | '\t' | '\u{0b}' | '\u{0c}' | '\0');
        let tokens = text.split(is_sep).filter(|t| !t.is_empty()).chain(std::iter::once(EOS));
        for token in tokens {
            let h = hash(token.as_bytes());
            match self.words.get(token) {
                Some(&wid) => {
                    if self.maxn == 0 {
                        ids.push(wid);
                    } else {
                        ids.extend_from_slice(&self.subwords[wid]);
                    }
                }
                None if token == EOS => {}
                None => self.char_ngrams(&format!("<{token}>"), &mut ids),
            }
            hashes.push(u64::from(h));
        }
        if self.word_ngrams > 1 {
            for i in 0..hashes.len() {
                let mut h = hashes[i];
                for &next in hashes.iter().take((i + self.word_ngrams).min(hashes.len())).skip(i + 1) {
                    h = h.wrapping_mul(116_049_371).wrapping_add(next);
                    self.push_hash(&mut ids, (h % self.bucket.max(1)) as i64);
                }
            }
        }
        ids
    }

    /// Labels (without `__label__`) and probabilities, best first, at most `k` (all with `None`),
    /// those below `threshold` left out — `model.predict(text, k, threshold)` of the Python wheel.
    pub fn predict(&self, text: &str, k: Option<usize>, threshold: f32) -> Vec<(String, f32)> {
        let ids = self.line_ids(text);
        if ids.is_empty() {
            return Vec::new();
        }
        let mut hidden = vec![0.0f32; self.dim];
        for &id in &ids {
            self.input.add_row(&mut hidden, id);
        }
        let scale = 1.0f32 / ids.len() as f32;
        hidden.iter_mut().for_each(|h| *h *= scale);
        let k = k.unwrap_or(self.labels.len()).min(self.labels.len());
        let mut heap: Vec<(f32, usize)> = Vec::new();
        if self.hierarchical {
            self.dfs(k, threshold, 2 * self.labels.len() - 2, 0.0, &mut heap, &hidden);
        } else {
            let mut out: Vec<f32> = (0..self.labels.len()).map(|i| self.output.dot_row(&hidden, i)).collect();
            let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut z = 0.0f32;
            for o in &mut out {
                *o = (*o - max).exp();
                z += *o;
            }
            for (i, o) in out.iter().enumerate() {
                let p = o / z;
                if p >= threshold {
                    heap.push((std_log(p), i));
                }
            }
        }
        heap.sort_by(|a, b| b.0.total_cmp(&a.0));
        heap.truncate(k);
        heap.into_iter()
            .map(|(s, i)| {
                let label = self.labels[i].strip_prefix("__label__").unwrap_or(&self.labels[i]).to_string();
                (label, s.exp())
            })
            .collect()
    }

    fn dfs(
        &self,
        k: usize,
        threshold: f32,
        node: usize,
        score: f32,
        heap: &mut Vec<(f32, usize)>,
        hidden: &[f32],
    ) {
        if score < std_log(threshold) {
            return;
        }
        if heap.len() == k && heap.iter().map(|h| h.0).fold(f32::INFINITY, f32::min) > score {
            return;
        }
        let n = self.tree[node];
        if n.left == -1 && n.right == -1 {
            heap.push((score, node));
            if heap.len() > k {
                let (worst, _) = heap.iter().enumerate().fold((0, f32::INFINITY), |acc, (i, h)| {
                    if h.0 < acc.1 {
                        (i, h.0)
                    } else {
                        acc
                    }
                });
                heap.swap_remove(worst);
            }
            return;
        }
        let f = self.output.dot_row(hidden, node - self.labels.len());
        // `1. / (1 + std::exp(-f))`: the exponential of a float is a float in C++.
        let f = (1.0 / f64::from(1.0 + (-f).exp())) as f32;
        self.dfs(k, threshold, n.left as usize, score + std_log(1.0 - f), heap, hidden);
        self.dfs(k, threshold, n.right as usize, score + std_log(f), heap, hidden);
    }

    /// Number of labels.
    pub fn num_labels(&self) -> usize {
        self.labels.len()
    }
}
