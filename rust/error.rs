//! The errors the core reports, one variant per situation.
//!
//! Each reads well on its own, because the Python layer shows its `Display`
//! text to users (see `py/errors.rs`, the one place these become exceptions).

use std::fmt;
use std::time::Duration;

/// Why a core operation did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// The actor stopped, or was stopped, before it could take the message.
    /// Carries a description of the actor.
    ActorDead(String),
    /// A wait ended at its deadline; carries the time that was allowed.
    Timeout(Duration),
    /// A one-shot slot was given a second value.
    AlreadySet,
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ActorDead(actor) => write!(f, "{actor} not found"),
            Self::Timeout(after) => write!(f, "{} seconds", after.as_secs_f64()),
            Self::AlreadySet => f.write_str("the future already has a result"),
        }
    }
}

impl std::error::Error for CoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_dead_reads_like_pykka() {
        let err = CoreError::ActorDead("Greeter (urn:uuid:1)".into());
        assert_eq!(err.to_string(), "Greeter (urn:uuid:1) not found");
    }

    #[test]
    fn timeout_names_the_seconds_allowed() {
        assert_eq!(
            CoreError::Timeout(Duration::from_millis(1500)).to_string(),
            "1.5 seconds"
        );
    }
}
