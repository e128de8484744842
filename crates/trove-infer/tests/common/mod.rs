//! What the trove-infer tests share.
#![allow(clippy::unwrap_used, dead_code)] // a failed unwrap in a test is a failed test

use trove_core::step::{Context, Outputs, StageKind};
use trove_core::{BuildContext, Document, Registry, Stats, StepConfig, TaskInfo};

/// Builds `cfg` for `task`, runs it over `docs` (one batch, then `finish`); the documents it emitted
/// (or the error) and its stats.
pub fn run_step<C: StepConfig>(
    cfg: &C,
    task: TaskInfo,
    docs: Vec<Document>,
) -> (trove_core::Result<Vec<Document>>, Stats) {
    let registry = Registry::new();
    let StageKind::Step(mut step) =
        cfg.build(&BuildContext { task: &task, registry: &registry }).unwrap().kind
    else {
        panic!("not a step")
    };
    let (mut stats, mut outputs, mut out) = (Stats::new(C::TYPE), Outputs::default(), Vec::new());
    let mut cx = Context::new(&task, &mut stats, &mut outputs, &mut out);
    let mut batch = docs;
    let result = step.process_batch(&mut batch, &mut cx).and_then(|_| step.finish(&mut cx));
    (result.map(|_| out), stats)
}
