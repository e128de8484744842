//! Runs one task: pushes documents from sources through the stages, times each stage exclusively,
//! and collects the stats.

use crate::document::Document;
use crate::error::{Error, Result};
use crate::stats::{PipelineStats, Stats};
use crate::step::{Context, Downstream, Outputs, SourceContext, Stage, StageKind};
use crate::task::TaskInfo;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Documents per batch handed from a source to the steps.
pub const DEFAULT_BATCH_SIZE: usize = 1024;

struct Slot {
    stage: Stage,
    stats: Stats,
    type_name: String,
}

/// Everything a finished task produced.
pub struct TaskOutput {
    /// Per-step stats.
    pub stats: PipelineStats,
    /// Files to publish.
    pub outputs: Outputs,
}

/// Runs `stages` for `task` and returns their stats and staged outputs (not yet published).
///
/// `type_names` label errors (`step 2 (regex_filter): ...`); `docs_read` is bumped as sources emit.
pub fn run_task(
    stages: Vec<Stage>,
    type_names: &[String],
    task: &TaskInfo,
    batch_size: usize,
    docs_read: Option<&AtomicU64>,
) -> Result<TaskOutput> {
    let mut slots: Vec<Slot> = stages
        .into_iter()
        .enumerate()
        .map(|(i, stage)| Slot {
            stats: Stats::new(stage.name.clone()),
            type_name: type_names.get(i).cloned().unwrap_or_else(|| stage.name.clone()),
            stage,
        })
        .collect();
    let mut outputs = Outputs::default();
    let n = slots.len();
    for i in 0..n {
        let (head, tail) = slots.split_at_mut(i + 1);
        let slot = &mut head[i];
        if let StageKind::Source(source) = &mut slot.stage.kind {
            let mut down = Chain { slots: tail, first_index: i + 1, task, outputs: &mut outputs, docs_read };
            let start = Instant::now();
            let mut cx = SourceContext::new(task, &mut slot.stats, &mut down, batch_size);
            let result = source.read(&mut cx).and_then(|()| cx.flush());
            let (emitted, downstream) = (cx.emitted(), cx.downstream_time());
            result.map_err(|e| wrap(i, &slot.type_name, e))?;
            slot.stats.time_stats.record(start.elapsed().saturating_sub(downstream), emitted);
        }
    }
    // Finish in order: what a step emits while finishing flows through the steps after it.
    for i in 0..n {
        let (head, tail) = slots.split_at_mut(i + 1);
        let slot = &mut head[i];
        if let StageKind::Step(step) = &mut slot.stage.kind {
            let mut out = Vec::new();
            let start = Instant::now();
            let mut cx = Context::new(task, &mut slot.stats, &mut outputs, &mut out);
            step.finish(&mut cx).map_err(|e| wrap(i, &slot.type_name, e))?;
            slot.stats.time_stats.record(start.elapsed(), 0);
            if !out.is_empty() {
                let mut down =
                    Chain { slots: tail, first_index: i + 1, task, outputs: &mut outputs, docs_read: None };
                down.push(&mut out)?;
            }
        }
    }
    Ok(TaskOutput { stats: PipelineStats { steps: slots.into_iter().map(|s| s.stats).collect() }, outputs })
}

fn wrap(index: usize, type_name: &str, e: Error) -> Error {
    match e {
        e @ Error::Step { .. } => e,
        e => Error::Step { index, step: type_name.to_string(), source: Box::new(e) },
    }
}

/// The stages after a source.
struct Chain<'a> {
    slots: &'a mut [Slot],
    first_index: usize,
    task: &'a TaskInfo,
    outputs: &'a mut Outputs,
    docs_read: Option<&'a AtomicU64>,
}

impl Downstream for Chain<'_> {
    fn push(&mut self, batch: &mut Vec<Document>) -> Result<()> {
        if let Some(counter) = self.docs_read {
            counter.fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        let mut current = std::mem::take(batch);
        let mut next = Vec::with_capacity(current.len());
        for (offset, slot) in self.slots.iter_mut().enumerate() {
            if current.is_empty() {
                break;
            }
            let StageKind::Step(step) = &mut slot.stage.kind else {
                continue; // documents pass through later sources unchanged
            };
            let count = current.len() as u64;
            let start = Instant::now();
            let mut cx = Context::new(self.task, &mut slot.stats, self.outputs, &mut next);
            step.process_batch(&mut current, &mut cx)
                .map_err(|e| wrap(self.first_index + offset, &slot.type_name, e))?;
            slot.stats.time_stats.record(start.elapsed(), count);
            current.clear();
            std::mem::swap(&mut current, &mut next);
        }
        current.clear();
        *batch = current; // hand the allocation back to the source
        Ok(())
    }
}
