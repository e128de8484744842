//! # trove-slurm
//!
//! Will own the Slurm executor: sbatch array scripts rendered as a pure function, submission and
//! dependency chaining, relaunch of failed ranks. Nothing is implemented yet (see the Slurm issue).
#![deny(missing_docs)]
