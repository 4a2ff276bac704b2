//! The core of pykka_rs: mailboxes, one-shot futures, events and the waiting
//! policy that ties them together, the worker pool that carries messages
//! between processes, and the supervisor's decisions, in plain Rust.
//!
//! Everything here runs without Python: `cargo test` exercises it with no
//! interpreter in sight. The PyO3 bindings live in `py/`, behind the `python`
//! feature, and use this core; the core never names PyO3.

pub mod actor;
pub mod channel;
pub mod dead_letters;
pub mod error;
pub mod event;
pub mod future;
pub mod mailbox;
pub mod metrics;
pub mod node;
pub mod payload;
pub mod pool;
pub mod supervision;
pub mod swept;
pub mod sync;
pub mod wait;

#[cfg(feature = "python")]
mod py;
