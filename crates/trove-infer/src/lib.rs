//! # trove-infer
//!
//! Will own inference: an OpenAI-compatible inference runner with checkpointing, and local candle
//! models such as a BERT classifier. Nothing is implemented yet (see the PDF and models issue).
#![deny(missing_docs)]
