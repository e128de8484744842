//! MinHash deduplication in DataTrove's four stages, with its file formats:
//!
//! 1. `minhash_dedup_signature`: per task, `bucket_{b:03}/{rank:05}.minhash.sig` — records of
//!    `hashes_per_bucket` hashes (`u64`, or `u32` at 32-bit precision) and the document's index in the
//!    task (`u32`), little-endian, sorted. Byte-identical to DataTrove's: same text normalization, word
//!    splitting, n-gram hashes and permutation parameters (numpy's legacy `RandomState`).
//! 2. `minhash_dedup_buckets`: one task per bucket (or several per bucket, each on a hash range):
//!    merges the bucket's sorted files and writes `{bucket:05}_{worker:02}.dups`, pairs
//!    `(file, doc, file, doc)` of consecutive equal signatures.
//! 3. `minhash_dedup_cluster`: one task: union-find over every pair, DataTrove's order and tie rules, so
//!    the same member of each cluster is kept; writes `{file:06}.remove` (and `.clusters`, `.sizes`).
//! 4. `minhash_dedup_filter`: drops the documents listed for the task.
//!
//! Signature files are staged and published only when the task succeeds: a killed task leaves none.

use crate::binio::{le_uint, read_u32s, Records};
use crate::hashing::HashConfig;
use crate::text::{simplify_text, TextNormConfig};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{Read, Write};
use std::sync::Arc;
use trove_core::hash::FxHashMap;
use trove_core::numpy_rng::RandomState;
use trove_core::text::WordSplitter;
use trove_core::{
    open_storage, BuildContext, Context, Document, Error, Filter, Result, Source, SourceContext, Stage, Step,
    StepConfig, StepSpec, Storage, Verdict,
};

/// 2^61 - 1, the modulus of the permutations.
const MERSENNE_PRIME: u64 = (1 << 61) - 1;

fn five() -> usize {
    5
}
fn fourteen() -> usize {
    14
}
fn eight() -> usize {
    8
}
fn one() -> u32 {
    1
}
fn english() -> String {
    "en".into()
}
fn yes() -> bool {
    true
}
fn lines_to_buffer() -> i64 {
    5
}

/// DataTrove's `MinhashConfig`, given inline as `config = { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinhashConfig {
    /// Words per shingle.
    #[serde(default = "five")]
    pub n_grams: usize,
    /// Buckets (bands).
    #[serde(default = "fourteen")]
    pub num_buckets: usize,
    /// Hashes per bucket (rows per band).
    #[serde(default = "eight")]
    pub hashes_per_bucket: usize,
    /// Seed of the permutation parameters; the same on every task.
    #[serde(default = "one")]
    pub seed: u32,
    /// Text normalization before splitting into words.
    #[serde(default)]
    pub norm_config: TextNormConfig,
    /// Shingle hash function.
    #[serde(default)]
    pub hash_config: HashConfig,
}

impl Default for MinhashConfig {
    fn default() -> Self {
        MinhashConfig {
            n_grams: 5,
            num_buckets: 14,
            hashes_per_bucket: 8,
            seed: 1,
            norm_config: TextNormConfig::default(),
            hash_config: HashConfig::default(),
        }
    }
}

impl MinhashConfig {
    fn check(&self) -> Result<()> {
        self.hash_config.check()?;
        if self.n_grams == 0 || self.num_buckets == 0 || self.hashes_per_bucket == 0 {
            return Err(Error::config("n_grams, num_buckets and hashes_per_bucket must be at least 1"));
        }
        Ok(())
    }

    /// Bytes of one signature record (hashes, then the document index).
    fn record_size(&self) -> usize {
        self.hashes_per_bucket * self.hash_config.width() + 4
    }
}

/// Hashed word n-grams of normalized text: DataTrove's `get_shingles`, shared by MinHash and the
/// Bloom filter.
pub struct Shingler {
    norm: TextNormConfig,
    hash: HashConfig,
    n_grams: usize,
    splitter: WordSplitter,
    shingle: String,
}

impl Shingler {
    /// Shingles of `n_grams` words after `norm`, hashed with `hash`, words split for `language`.
    pub fn new(norm: &TextNormConfig, hash: &HashConfig, n_grams: usize, language: &str) -> Shingler {
        Shingler {
            norm: norm.clone(),
            hash: hash.clone(),
            n_grams,
            splitter: WordSplitter::new(language),
            shingle: String::new(),
        }
    }

    /// The shingle hashes of `text`, in order (none when it has fewer words than `n_grams`).
    pub fn shingles(&mut self, text: &str) -> Vec<u64> {
        let simplified = simplify_text(text, &self.norm);
        let words = self.splitter.words(&simplified);
        let mut out = Vec::with_capacity(words.len().saturating_sub(self.n_grams - 1));
        for gram in words.windows(self.n_grams) {
            self.shingle.clear();
            for (i, w) in gram.iter().enumerate() {
                if i > 0 {
                    self.shingle.push(' ');
                }
                self.shingle.push_str(w);
            }
            out.push(self.hash.hash(self.shingle.as_bytes()));
        }
        out
    }
}

/// numpy's `RandomState(seed)` draws of DataTrove's universal-hash parameters: `n` values of `a` in
/// [1, p), then `n` values of `b` in [0, p), p = 2^61 - 1.
pub fn permutation_parameters(seed: u32, n: usize) -> (Vec<u64>, Vec<u64>) {
    let mut rng = RandomState::new(seed);
    let a = (0..n).map(|_| rng.randint_u64(1, MERSENNE_PRIME)).collect();
    let b = (0..n).map(|_| rng.randint_u64(0, MERSENNE_PRIME)).collect();
    (a, b)
}

/// `(s * a + b) % p` in numpy's uint64 arithmetic: the product and the sum wrap before the modulo.
#[inline]
pub fn permute(s: u64, a: u64, b: u64) -> u64 {
    s.wrapping_mul(a).wrapping_add(b) % MERSENNE_PRIME
}

/// Computes DataTrove's MinHash signatures.
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
    mask: u64,
    shingler: Shingler,
}

impl MinHasher {
    /// The hasher for `config`, splitting words as DataTrove does for `language`.
    pub fn new(config: &MinhashConfig, language: &str) -> MinHasher {
        let (a, b) = permutation_parameters(config.seed, config.num_buckets * config.hashes_per_bucket);
        let shingler = Shingler::new(&config.norm_config, &config.hash_config, config.n_grams, language);
        MinHasher { a, b, mask: config.hash_config.max(), shingler }
    }

    /// The `num_buckets × hashes_per_bucket` minimums, or `None` for a text with fewer words than
    /// `n_grams` (DataTrove writes no signature for it).
    pub fn signature(&mut self, text: &str) -> Option<Vec<u64>> {
        let shingles = self.shingler.shingles(text);
        if shingles.is_empty() {
            return None;
        }
        let mut mins = vec![u64::MAX; self.a.len()];
        for s in shingles {
            for ((m, &a), &b) in mins.iter_mut().zip(&self.a).zip(&self.b) {
                *m = (*m).min(permute(s, a, b) & self.mask);
            }
        }
        Some(mins)
    }
}

/// `minhash_dedup_signature`: DataTrove's `MinhashDedupSignature`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinhashDedupSignatureConfig {
    /// Where `bucket_XXX/NNNNN.minhash.sig` go.
    pub output_folder: String,
    /// The MinHash parameters (the same in all four stages).
    #[serde(default)]
    pub config: MinhashConfig,
    /// The language whose word splitter is used.
    #[serde(default = "english")]
    pub language: String,
    /// Keep a task's signature files when all are present with a whole number of equal-sized records.
    #[serde(default)]
    pub skip_existing_sigs: bool,
}

impl StepConfig for MinhashDedupSignatureConfig {
    const TYPE: &'static str = "minhash_dedup_signature";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        let storage = open_storage(&self.output_folder)?;
        let rank = cx.task.rank;
        let skip = self.skip_existing_sigs && existing_sigs(&*storage, &self.config, rank)?;
        let step = SignatureStep {
            hasher: MinHasher::new(&self.config, &self.language),
            buckets: vec![Vec::new(); if skip { 0 } else { self.config.num_buckets }],
            config: self.config.clone(),
            storage,
            next_index: 0,
            skip,
        };
        Ok(Stage::step("🫂 - DEDUP: 🎯 MinHash stage 1", step))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = self.config.check() {
            problems.push(e.to_string());
        }
    }
}

fn sig_path(bucket: usize, rank: usize) -> String {
    format!("bucket_{bucket:03}/{rank:05}.minhash.sig")
}

/// DataTrove's `check_can_skip_sig_writing`, without reading the files.
fn existing_sigs(storage: &dyn Storage, config: &MinhashConfig, rank: usize) -> Result<bool> {
    let mut sizes = Vec::new();
    for b in 0..config.num_buckets {
        let path = sig_path(b, rank);
        match storage.local_path(&path).and_then(|p| std::fs::metadata(p).ok()) {
            Some(m) => sizes.push(m.len()),
            None => return Ok(false),
        }
    }
    let record = config.record_size() as u64;
    Ok(sizes.iter().all(|&s| s == sizes[0]) && sizes[0] > 0 && sizes[0] % record == 0)
}

/// The runtime signature step: signatures kept per bucket, sorted and written when the task ends.
struct SignatureStep {
    hasher: MinHasher,
    config: MinhashConfig,
    /// Per bucket: records of `hashes_per_bucket` hashes followed by the document index.
    buckets: Vec<Vec<u64>>,
    storage: Arc<dyn Storage>,
    next_index: u64,
    skip: bool,
}

impl Step for SignatureStep {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        cx.stats.incr("total");
        let index = self.next_index;
        self.next_index += 1;
        if self.skip {
            return Ok(());
        }
        let index32 = u32::try_from(index).map_err(|_| {
            Error::Format("minhash_dedup_signature: more than 2^32 documents in one task".into())
        })?;
        if let Some(sig) = self.hasher.signature(&doc.text) {
            let h = self.config.hashes_per_bucket;
            for (bucket, chunk) in self.buckets.iter_mut().zip(sig.chunks(h)) {
                bucket.extend_from_slice(chunk);
                bucket.push(u64::from(index32));
            }
        } else {
            cx.stats.incr("no_shingles");
        }
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        let h = self.config.hashes_per_bucket;
        let width = self.config.hash_config.width();
        for (b, flat) in self.buckets.iter().enumerate() {
            let mut records: Vec<&[u64]> = flat.chunks(h + 1).collect();
            // numpy's structured sort on (hash 1, ..., hash n, document index).
            records.sort_unstable();
            let path = sig_path(b, cx.task.rank);
            let mut out = Vec::with_capacity(records.len() * self.config.record_size());
            for r in records {
                for &v in &r[..h] {
                    out.extend_from_slice(&v.to_le_bytes()[..width]);
                }
                out.extend_from_slice(&(r[h] as u32).to_le_bytes());
            }
            let mut file = self.storage.create(&path)?;
            file.write_all(&out).map_err(|e| Error::io(self.storage.resolve(&path), e))?;
            cx.outputs.stage(file);
        }
        Ok(())
    }
}

/// `minhash_dedup_buckets`: DataTrove's `MinhashDedupBuckets` (without an index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinhashDedupBucketsConfig {
    /// The signature stage's `output_folder`.
    pub input_folder: String,
    /// Where the `.dups` files go.
    pub output_folder: String,
    /// An index of earlier datasets' signatures (not supported yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_folder: Option<String>,
    /// The MinHash parameters.
    #[serde(default)]
    pub config: MinhashConfig,
    /// With an index: only report matches against it.
    #[serde(default = "yes")]
    pub only_dedup_in_index: bool,
    /// Write this dataset's signatures as a new index (not supported yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_index_name: Option<String>,
    /// Accepted for DataTrove's signature (read buffering).
    #[serde(default = "lines_to_buffer")]
    pub lines_to_buffer: i64,
}

impl StepConfig for MinhashDedupBucketsConfig {
    const TYPE: &'static str = "minhash_dedup_buckets";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        if self.index_folder.is_some() || self.create_index_name.is_some() {
            return Err(Error::config(
                "minhash_dedup_buckets: index_folder / create_index_name are not supported yet",
            ));
        }
        let (world, buckets) = (cx.task.world_size, self.config.num_buckets);
        if world % buckets != 0 {
            return Err(Error::config(format!(
                "minhash_dedup_buckets needs tasks divisible by num_buckets ({buckets}), not {world}"
            )));
        }
        let source = BucketsSource {
            config: self.config.clone(),
            input: open_storage(&self.input_folder)?,
            output: open_storage(&self.output_folder)?,
        };
        Ok(Stage::source("🫂 - DEDUP: 🎯 MinHash stage 2", source))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = self.config.check() {
            problems.push(e.to_string());
        }
        if self.index_folder.is_some() || self.create_index_name.is_some() {
            problems
                .push("minhash_dedup_buckets: index_folder / create_index_name are not supported yet".into());
        }
    }
}

struct BucketsSource {
    config: MinhashConfig,
    input: Arc<dyn Storage>,
    output: Arc<dyn Storage>,
}

/// Reads the records of one sorted signature file.
struct SigReader {
    records: Records,
    hashes: usize,
    width: usize,
}

impl SigReader {
    fn next(&mut self) -> Result<Option<(Vec<u64>, u32)>> {
        let (hashes, width) = (self.hashes, self.width);
        let Some(rec) = self.records.next()? else { return Ok(None) };
        let sig = (0..hashes).map(|i| le_uint(&rec[i * width..(i + 1) * width])).collect();
        Ok(Some((sig, le_uint(&rec[hashes * width..hashes * width + 4]) as u32)))
    }
}

impl BucketsSource {
    fn files(&self, bucket: usize) -> Result<Vec<String>> {
        let mut files: Vec<String> = self
            .input
            .list(&format!("bucket_{bucket:03}"), true)?
            .into_iter()
            .filter(|f| f.ends_with(".minhash.sig"))
            .collect();
        files.sort();
        Ok(files)
    }

    fn open(&self, path: &str) -> Result<SigReader> {
        Ok(SigReader {
            records: Records::open(&*self.input, path, self.config.record_size())?,
            hashes: self.config.hashes_per_bucket,
            width: self.config.hash_config.width(),
        })
    }

    /// DataTrove's `get_worker_hash_range`: split points read from the first file.
    fn hash_range(&self, files: &[String], worker: usize, workers: usize) -> Result<(u64, u64)> {
        let top = if self.config.hash_config.precision == 64 {
            MERSENNE_PRIME
        } else {
            self.config.hash_config.max()
        };
        let (mut lo, mut hi) = (0, top);
        if workers > 1 && !files.is_empty() {
            let mut first = self.open(&files[0])?;
            let mut starts = Vec::new();
            while let Some((sig, _)) = first.next()? {
                starts.push(sig[0]);
            }
            let lines = starts.len();
            if lines < workers {
                return Err(Error::config(format!(
                    "{}: {workers} workers per bucket but only {lines} signatures",
                    self.input.resolve(&files[0])
                )));
            }
            if worker > 0 {
                lo = starts[lines / workers * worker];
            }
            if worker + 1 < workers {
                hi = starts[lines / workers * (worker + 1)];
            }
        }
        Ok((lo, hi))
    }
}

/// A signature in the merge, ordered as DataTrove's `HashSig` (signature, file, document).
type Entry = Reverse<(Vec<u64>, usize, u32)>;

impl Source for BucketsSource {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let workers = cx.task.world_size / self.config.num_buckets;
        let (bucket, worker) = (cx.task.rank / workers, cx.task.rank % workers);
        let files = self.files(bucket)?;
        let (lo, hi) = self.hash_range(&files, worker, workers)?;
        tracing::info!(
            "bucket {bucket:03}, worker {}/{workers}: {} files, hashes [{lo}, {hi})",
            worker + 1,
            files.len()
        );
        let mut stems = Vec::with_capacity(files.len());
        let mut readers = Vec::with_capacity(files.len());
        let mut heap: BinaryHeap<Entry> = BinaryHeap::new();
        for (i, f) in files.iter().enumerate() {
            let name = f.rsplit('/').next().unwrap_or_default();
            let stem = name.trim_end_matches(".minhash.sig");
            stems.push(stem.parse::<u32>().map_err(|_| {
                Error::Format(format!(
                    "{}: signature files are named NNNNN.minhash.sig",
                    self.input.resolve(f)
                ))
            })?);
            let mut r = self.open(f)?;
            // Skip to the worker's range (DataTrove binary-searches; the files are read once either way).
            let first = loop {
                match r.next()? {
                    Some((sig, _)) if sig[0] < lo => continue,
                    other => break other,
                }
            };
            if let Some((sig, doc)) = first.filter(|(sig, _)| sig[0] < hi) {
                heap.push(Reverse((sig, i, doc)));
            }
            readers.push(r);
        }
        let mut out = Vec::new();
        let mut last: Option<(Vec<u64>, usize, u32)> = None;
        let mut matches = 0u64;
        while let Some(Reverse(v)) = heap.pop() {
            if let Some(prev) = &last {
                if prev.0 == v.0 {
                    for x in [stems[prev.1], prev.2, stems[v.1], v.2] {
                        out.extend_from_slice(&x.to_le_bytes());
                    }
                    matches += 1;
                }
            }
            let file = v.1;
            last = Some(v);
            if let Some((sig, doc)) = readers[file].next()? {
                if sig[0] < hi {
                    let entry = Reverse((sig, file, doc));
                    if last.as_ref().is_some_and(|l| entry.0 < *l) {
                        return Err(Error::Format(format!(
                            "{}: signatures are not sorted: re-run the signature stage for it",
                            readers[file].records.path
                        )));
                    }
                    heap.push(entry);
                }
            }
        }
        cx.stats.update("total_matches", matches as i64);
        let path = format!("{bucket:05}_{worker:02}.dups");
        trove_core::storage::write_all(&*self.output, &path, &out)
    }
}

/// `minhash_dedup_cluster`: DataTrove's `MinhashDedupCluster` (one task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinhashDedupClusterConfig {
    /// The buckets stage's `output_folder`.
    pub input_folder: String,
    /// Where `NNNNNN.remove` (and `.clusters`, `.sizes`) go.
    pub output_folder: String,
    /// The MinHash parameters.
    #[serde(default)]
    pub config: MinhashConfig,
    /// Also write `NNNNNN.clusters`: (document, cluster id) for every duplicated document.
    #[serde(default)]
    pub save_cluster_id: bool,
    /// Also write `NNNNNN.sizes`: (document, cluster size) for every duplicated document.
    #[serde(default)]
    pub save_cluster_size: bool,
    /// Skip matches against an index.
    #[serde(default)]
    pub ignore_index_matches: bool,
    /// Accepted for DataTrove's signature (read buffering).
    #[serde(default = "lines_to_buffer")]
    pub lines_to_buffer: i64,
}

impl StepConfig for MinhashDedupClusterConfig {
    const TYPE: &'static str = "minhash_dedup_cluster";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        if cx.task.world_size != 1 {
            return Err(Error::config(format!(
                "minhash_dedup_cluster runs as one task (tasks = 1), not {}",
                cx.task.world_size
            )));
        }
        let source = ClusterSource {
            config: self.clone(),
            input: open_storage(&self.input_folder)?,
            output: open_storage(&self.output_folder)?,
        };
        Ok(Stage::source("🫂 - DEDUP: 🎯 MinHash stage 3", source))
    }
}

struct ClusterSource {
    config: MinhashDedupClusterConfig,
    input: Arc<dyn Storage>,
    output: Arc<dyn Storage>,
}

/// DataTrove's union-find: path compression, union by size, ties and the index sentinel decided as
/// DataTrove decides them, so each cluster keeps the same member.
#[derive(Default)]
pub struct UnionFind {
    parent: FxHashMap<u64, u64>,
    size: FxHashMap<u64, u64>,
}

fn node(file: u32, doc: u32) -> u64 {
    (u64::from(file) << 32) | u64::from(doc)
}

/// The (file, document) of an index match: DataTrove writes `-1` as `u32::MAX` for both.
const SENTINEL_NODE: u64 = u64::MAX;

impl UnionFind {
    /// The root of `x`, compressing the path.
    pub fn find(&mut self, x: u64) -> u64 {
        let mut root = x;
        loop {
            match self.parent.get(&root) {
                Some(&p) if p != root => root = p,
                Some(_) => break,
                None => {
                    self.parent.insert(root, root);
                    break;
                }
            }
        }
        let mut cur = x;
        while cur != root {
            let next = self.parent[&cur];
            self.parent.insert(cur, root);
            cur = next;
        }
        root
    }

    /// Joins the sets of `a` and `b`.
    pub fn union(&mut self, a: u64, b: u64) {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let sa = self.size.get(&ra).copied().unwrap_or(1);
        let sb = self.size.get(&rb).copied().unwrap_or(1);
        if rb == SENTINEL_NODE || (ra != SENTINEL_NODE && sa < sb) {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent.insert(rb, ra);
        self.size.insert(ra, sa + sb);
        self.size.remove(&rb);
    }
}

impl Source for ClusterSource {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let mut dups: Vec<String> = self
            .input
            .list("", false)?
            .into_iter()
            .filter(|f| !f.contains('/') && f.ends_with(".dups"))
            .collect();
        dups.sort();
        if dups.len() % self.config.config.num_buckets != 0 {
            return Err(Error::config(format!(
                "{}: {} .dups files, not a multiple of num_buckets ({}): did the buckets stage finish?",
                self.input.resolve(""),
                dups.len(),
                self.config.config.num_buckets
            )));
        }
        let mut uf = UnionFind::default();
        for f in &dups {
            let mut bytes = Vec::new();
            self.input.open(f)?.read_to_end(&mut bytes).map_err(|e| Error::io(self.input.resolve(f), e))?;
            if bytes.len() % 16 != 0 {
                return Err(Error::Format(format!(
                    "{}: {} bytes, not whole (file, doc, file, doc) records",
                    self.input.resolve(f),
                    bytes.len()
                )));
            }
            for rec in bytes.chunks_exact(16) {
                let v = |i: usize| u32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
                let (a, b) = (node(v(0), v(4)), node(v(8), v(12)));
                if self.config.ignore_index_matches && a == SENTINEL_NODE {
                    continue;
                }
                uf.union(a, b);
            }
        }
        let mut nodes: Vec<u64> = uf.parent.keys().copied().collect();
        nodes.sort_unstable();
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut cluster_ids: FxHashMap<u64, u32> = FxHashMap::default();
        let (mut removed, mut clusters) = (0i64, 0u32);
        for &n in &nodes {
            cx.stats.incr("duplicates");
            let (file, doc) = ((n >> 32) as u32, n as u32);
            let p = uf.find(n);
            let mut write = |ext: &str, values: &[u32]| {
                let buf = files.entry(format!("{file:06}.{ext}")).or_default();
                for v in values {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
            };
            if n != p {
                write("remove", &[doc]);
                removed += 1;
            }
            let size = uf.size.get(&p).copied().unwrap_or(1);
            if self.config.save_cluster_id {
                let id = *cluster_ids.entry(p).or_insert_with(|| {
                    clusters += 1;
                    clusters - 1
                });
                write("clusters", &[doc, id]);
            }
            if n == p {
                cx.stats.update_unit("cluster_size", size as i64, "cluster");
            }
            if self.config.save_cluster_size {
                write("sizes", &[doc, size as u32]);
            }
        }
        cx.stats.update("to_remove", removed);
        if self.config.save_cluster_id {
            cx.stats.update("clusters", i64::from(clusters));
        }
        for (path, bytes) in files {
            trove_core::storage::write_all(&*self.output, &path, &bytes)?;
        }
        Ok(())
    }
}

/// `minhash_dedup_filter`: DataTrove's `MinhashDedupFilter`: drops the task's documents listed in
/// `{rank:06}.remove`, by their index in the task's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinhashDedupFilterConfig {
    /// The cluster stage's `output_folder`.
    pub input_folder: String,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// Write `minhash_cluster_id` (from `.clusters`; -1 for unique documents) to the metadata.
    #[serde(default)]
    pub load_cluster_ids: bool,
    /// Write `minhash_cluster_size` (from `.sizes`; 1 for unique documents) to the metadata.
    #[serde(default)]
    pub load_cluster_sizes: bool,
    /// Accepted for DataTrove's signature (read buffering).
    #[serde(default = "lines_to_buffer")]
    pub lines_to_buffer: i64,
}

impl StepConfig for MinhashDedupFilterConfig {
    const TYPE: &'static str = "minhash_dedup_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let storage = open_storage(&self.input_folder)?;
        let rank = cx.task.rank;
        let remove = read_u32s(&*storage, &format!("{rank:06}.remove"))?;
        if remove.is_none() {
            tracing::warn!("no {rank:06}.remove in {}: every document is kept", storage.resolve(""));
        }
        let pairs = |ext: &str, wanted: bool| -> Result<Option<Vec<(u32, u32)>>> {
            if !wanted || remove.is_none() {
                return Ok(None);
            }
            let path = format!("{rank:06}.{ext}");
            let values = read_u32s(&*storage, &path)?
                .ok_or_else(|| Error::config(format!("{} is missing", storage.resolve(&path))))?;
            Ok(Some(values.chunks_exact(2).map(|c| (c[0], c[1])).collect()))
        };
        let filter = DedupFilter {
            clusters: pairs("clusters", self.load_cluster_ids)?.map(|v| v.into_iter().peekable()),
            sizes: pairs("sizes", self.load_cluster_sizes)?.map(|v| v.into_iter().peekable()),
            remove: remove.unwrap_or_default().into_iter().peekable(),
            index: 0,
        };
        cx.filter_stage_named("🫂 - DEDUP: 🎯 MinHash stage 4", filter, self.exclusion_writer.as_ref())
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

type Pairs = std::iter::Peekable<std::vec::IntoIter<(u32, u32)>>;

/// Drops listed document indexes; annotates cluster ids and sizes on request.
pub struct DedupFilter {
    remove: std::iter::Peekable<std::vec::IntoIter<u32>>,
    clusters: Option<Pairs>,
    sizes: Option<Pairs>,
    index: u64,
}

fn take_for(pairs: &mut Pairs, index: u64) -> Option<u32> {
    match pairs.peek() {
        Some(&(doc, value)) if u64::from(doc) == index => {
            pairs.next();
            Some(value)
        }
        _ => None,
    }
}

impl Filter for DedupFilter {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Keep
    }

    fn filter_mut(&mut self, doc: &mut Document) -> Verdict {
        let index = self.index;
        self.index += 1;
        if let Some(pairs) = &mut self.clusters {
            let id = take_for(pairs, index).map_or(-1, i64::from);
            doc.metadata.insert("minhash_cluster_id".into(), id.into());
        }
        if let Some(pairs) = &mut self.sizes {
            let size = take_for(pairs, index).unwrap_or(1);
            doc.metadata.insert("minhash_cluster_size".into(), size.into());
        }
        if self.remove.peek().is_some_and(|&r| u64::from(r) == index) {
            self.remove.next();
            Verdict::Drop(None)
        } else {
            Verdict::Keep
        }
    }
}
