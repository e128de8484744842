//! Push-based pipeline steps.
//!
//! The runner owns the loop: a [`Source`] emits documents through its [`SourceContext`], the runner
//! gathers them into batches and hands each batch to every following [`Step`] in turn. A step emits zero
//! or more documents per input through its [`Context`], which also records its stats. `finish` runs once
//! at the end of the task and may emit what a step held back.
//!
//! Most steps are one function: implement [`Filter`] (keep or drop with a reason, with an optional
//! exclusion writer) and wrap it in [`FilterStep`], or implement [`Map`] and wrap it in [`MapStep`].

use crate::document::Document;
use crate::error::Result;
use crate::stats::Stats;
use crate::storage::AtomicFile;
use crate::task::TaskInfo;
use std::time::{Duration, Instant};

/// Files a task has written but not yet published: the runner commits them all after every step
/// finished, before the task's stats and completion marker are written.
#[derive(Default)]
pub struct Outputs {
    pending: Vec<Box<dyn AtomicFile>>,
}

impl Outputs {
    /// Hands a finished file to the task; it is published when the task succeeds.
    pub fn stage(&mut self, file: Box<dyn AtomicFile>) {
        self.pending.push(file);
    }

    /// Publishes every staged file, in the order staged.
    pub fn commit_all(&mut self) -> Result<()> {
        for file in self.pending.drain(..) {
            file.commit()?;
        }
        Ok(())
    }

    /// Number of staged files.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no file is staged.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What a step sees while it processes documents.
pub struct Context<'a> {
    /// The task being run.
    pub task: &'a TaskInfo,
    /// This step's stats.
    pub stats: &'a mut Stats,
    /// Files to publish when the task succeeds.
    pub outputs: &'a mut Outputs,
    out: &'a mut Vec<Document>,
}

impl<'a> Context<'a> {
    /// A context that emits into `out`.
    pub fn new(
        task: &'a TaskInfo,
        stats: &'a mut Stats,
        outputs: &'a mut Outputs,
        out: &'a mut Vec<Document>,
    ) -> Context<'a> {
        Context { task, stats, outputs, out }
    }

    /// Passes a document to the next step.
    #[inline]
    pub fn emit(&mut self, doc: Document) {
        self.out.push(doc);
    }
}

/// A pipeline step that transforms, filters, writes or counts documents.
pub trait Step: Send {
    /// Handles one document, emitting zero or more documents.
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()>;

    /// Handles a batch (drained by the call). Override when a batch is cheaper than its documents.
    fn process_batch(&mut self, batch: &mut Vec<Document>, cx: &mut Context<'_>) -> Result<()> {
        for doc in batch.drain(..) {
            self.process(doc, cx)?;
        }
        Ok(())
    }

    /// Called once after the last document of the task; may emit held-back documents and stage outputs.
    fn finish(&mut self, _cx: &mut Context<'_>) -> Result<()> {
        Ok(())
    }
}

/// Where a [`Source`]'s documents go: the rest of the pipeline.
pub trait Downstream {
    /// Pushes a batch (drained by the call) through the rest of the pipeline.
    fn push(&mut self, batch: &mut Vec<Document>) -> Result<()>;
}

/// What a source sees while it reads.
pub struct SourceContext<'a> {
    /// The task being run.
    pub task: &'a TaskInfo,
    /// The source's stats.
    pub stats: &'a mut Stats,
    downstream: &'a mut dyn Downstream,
    buffer: Vec<Document>,
    batch_size: usize,
    emitted: u64,
    downstream_time: Duration,
}

impl<'a> SourceContext<'a> {
    /// A context that pushes batches of `batch_size` documents into `downstream`.
    pub fn new(
        task: &'a TaskInfo,
        stats: &'a mut Stats,
        downstream: &'a mut dyn Downstream,
        batch_size: usize,
    ) -> SourceContext<'a> {
        SourceContext {
            task,
            stats,
            downstream,
            buffer: Vec::with_capacity(batch_size),
            batch_size: batch_size.max(1),
            emitted: 0,
            downstream_time: Duration::ZERO,
        }
    }

    /// Emits a document into the pipeline.
    pub fn emit(&mut self, doc: Document) -> Result<()> {
        self.buffer.push(doc);
        self.emitted += 1;
        if self.buffer.len() >= self.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    /// Pushes buffered documents downstream now.
    pub fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        let result = self.downstream.push(&mut self.buffer);
        self.downstream_time += start.elapsed();
        self.buffer.clear();
        result
    }

    /// Documents emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// Time spent downstream of this source (excluded from its own time).
    pub fn downstream_time(&self) -> Duration {
        self.downstream_time
    }
}

/// A step that produces documents: readers.
pub trait Source: Send {
    /// Reads this task's shard, emitting documents through `cx`.
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()>;
}

/// A runtime step, built for one task from its config.
pub struct Stage {
    /// The display name recorded in stats (DataTrove's `"{type}: {name}"`, e.g. `🔻 - FILTER: 🕵 Regex`).
    pub name: String,
    /// What the stage does.
    pub kind: StageKind,
}

/// A source or a step.
pub enum StageKind {
    /// Produces documents. Documents from earlier stages pass through it unchanged.
    Source(Box<dyn Source>),
    /// Consumes and emits documents.
    Step(Box<dyn Step>),
}

impl Stage {
    /// A stage from a step.
    pub fn step(name: impl Into<String>, step: impl Step + 'static) -> Stage {
        Stage { name: name.into(), kind: StageKind::Step(Box::new(step)) }
    }

    /// A stage from a source.
    pub fn source(name: impl Into<String>, source: impl Source + 'static) -> Stage {
        Stage { name: name.into(), kind: StageKind::Source(Box::new(source)) }
    }
}

/// A filter's decision for one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the document.
    Keep,
    /// Drop it, optionally with a reason recorded as `dropped_<reason>` (keep reasons few and static).
    Drop(Option<&'static str>),
}

/// Keep-or-drop logic, one document at a time. Wrap in [`FilterStep`] to get DataTrove's filter
/// behaviour: stats `total`, `forwarded`, `dropped`, `dropped_<reason>`, `doc_len`, and dropped documents
/// sent to an optional exclusion writer with `filter_reason` in their metadata.
pub trait Filter: Send {
    /// Decides for one document.
    fn filter(&mut self, doc: &Document) -> Verdict;

    /// Decides for a document it may annotate (DataTrove's filters write metadata such as `language`,
    /// kept or dropped). The step calls this one; the default defers to [`Filter::filter`].
    fn filter_mut(&mut self, doc: &mut Document) -> Verdict {
        self.filter(doc)
    }

    /// Decides for a document and may count what it saw in the step's stats (DataTrove's filters call
    /// `stat_update` for line-level counters). The step calls this one; the default defers to
    /// [`Filter::filter_mut`].
    fn filter_counted(&mut self, doc: &mut Document, _stats: &mut Stats) -> Verdict {
        self.filter_mut(doc)
    }

    /// Decides for a batch; override when batching is faster. Must push one verdict per document.
    fn filter_batch(&mut self, docs: &mut [Document], verdicts: &mut Vec<Verdict>, stats: &mut Stats) {
        verdicts.extend(docs.iter_mut().map(|d| self.filter_counted(d, stats)));
    }

    /// Called once after the task's last document (a filter with state to save stages it here).
    fn finish(&mut self, _cx: &mut Context<'_>) -> Result<()> {
        Ok(())
    }
}

/// Runs a [`Filter`] as a step.
pub struct FilterStep<F> {
    filter: F,
    exclusion: Option<Box<dyn Step>>,
    exclusion_stats: Stats,
    verdicts: Vec<Verdict>,
    scratch: Vec<Document>,
}

impl<F: Filter> FilterStep<F> {
    /// A filter step, with an optional exclusion writer that receives the dropped documents.
    pub fn new(filter: F, exclusion: Option<Box<dyn Step>>) -> FilterStep<F> {
        FilterStep {
            filter,
            exclusion,
            exclusion_stats: Stats::new("exclusion writer"),
            verdicts: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn exclude(
        &mut self,
        mut doc: Document,
        reason: Option<&'static str>,
        cx: &mut Context<'_>,
    ) -> Result<()> {
        if let Some(writer) = &mut self.exclusion {
            if let Some(reason) = reason {
                doc.metadata.insert("filter_reason".into(), reason.into());
            }
            let mut sub = Context::new(cx.task, &mut self.exclusion_stats, cx.outputs, &mut self.scratch);
            writer.process(doc, &mut sub)?;
            self.scratch.clear();
        }
        Ok(())
    }
}

impl<F: Filter> Step for FilterStep<F> {
    fn process(&mut self, mut doc: Document, cx: &mut Context<'_>) -> Result<()> {
        let verdict = self.filter.filter_counted(&mut doc, cx.stats);
        cx.stats.incr("total");
        self.apply(doc, verdict, cx)
    }

    fn process_batch(&mut self, batch: &mut Vec<Document>, cx: &mut Context<'_>) -> Result<()> {
        let mut verdicts = std::mem::take(&mut self.verdicts);
        verdicts.clear();
        self.filter.filter_batch(batch, &mut verdicts, cx.stats);
        debug_assert_eq!(verdicts.len(), batch.len());
        for (doc, verdict) in batch.drain(..).zip(verdicts.iter().copied()) {
            cx.stats.incr("total");
            self.apply(doc, verdict, cx)?;
        }
        self.verdicts = verdicts;
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        self.filter.finish(cx)?;
        if let Some(writer) = &mut self.exclusion {
            let mut sub = Context::new(cx.task, &mut self.exclusion_stats, cx.outputs, &mut self.scratch);
            writer.finish(&mut sub)?;
            self.scratch.clear();
        }
        Ok(())
    }
}

impl<F: Filter> FilterStep<F> {
    fn apply(&mut self, doc: Document, verdict: Verdict, cx: &mut Context<'_>) -> Result<()> {
        match verdict {
            Verdict::Keep => {
                cx.stats.incr("forwarded");
                cx.stats.doc_stats(&doc);
                cx.emit(doc);
                Ok(())
            }
            Verdict::Drop(reason) => {
                cx.stats.incr("dropped");
                if let Some(reason) = reason {
                    cx.stats.incr(&format!("dropped_{reason}"));
                }
                self.exclude(doc, reason, cx)
            }
        }
    }
}

/// Changes documents in place. Wrap in [`MapStep`].
pub trait Map: Send {
    /// Changes one document.
    fn map(&mut self, doc: &mut Document) -> Result<()>;
}

/// Runs a [`Map`] as a step, counting `total` as DataTrove's formatters do.
pub struct MapStep<M>(pub M);

impl<M: Map> Step for MapStep<M> {
    fn process(&mut self, mut doc: Document, cx: &mut Context<'_>) -> Result<()> {
        cx.stats.incr("total");
        self.0.map(&mut doc)?;
        cx.emit(doc);
        Ok(())
    }
}
