//! # trove-tokenize
//!
//! Will own tokenization: tokenizer loading from local files, `tokens_counter`, `document_tokenizer`
//! writing DataTrove's `.ds` token files, and `document_tokenizer_merger`. Nothing is implemented yet
//! (see the tokenization issue).
#![deny(missing_docs)]
