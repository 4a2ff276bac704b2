//! The two rules OTP's supervisor decides by: whether an exit restarts a
//! child (its restart type against the exit reason), and which children a
//! restart takes along (the strategy).
//!
//! Both are pure functions of their inputs, kept apart from the state machine
//! in `mod.rs` so that each rule can be read, and tested, on its own.
//!
//! Rejected: OTP's `{shutdown, Term}` as a reason of its own. A Python child
//! has no term to attach; [`ExitReason::Shutdown`] stands for both forms, and
//! OTP treats them alike for every restart type.

use std::fmt;
use std::str::FromStr;

/// How a supervisor reacts when one of its children has to be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Only the child that exited is restarted.
    OneForOne,
    /// Every other child is stopped (in reverse start order), then all are
    /// started again (in start order).
    OneForAll,
    /// The children started after the one that exited are stopped (in
    /// reverse start order), then it and they are started again (in start
    /// order).
    RestForOne,
    /// A `OneForOne` supervisor whose children are all started later, at
    /// run time, from one template: a pool of identical children.
    SimpleOneForOne,
}

impl Strategy {
    /// OTP's name for the strategy, e.g. `"one_for_one"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::OneForOne => "one_for_one",
            Self::OneForAll => "one_for_all",
            Self::RestForOne => "rest_for_one",
            Self::SimpleOneForOne => "simple_one_for_one",
        }
    }

    /// The children a restart of `children[trigger]` takes along, `children`
    /// being in start order: the slice to stop (from its end) and start
    /// again (from its start).
    ///
    /// # Panics
    /// If `trigger` is not an index of `children`.
    pub fn group<T>(self, children: &[T], trigger: usize) -> &[T] {
        assert!(
            trigger < children.len(),
            "the child to restart is one of the children"
        );
        match self {
            Self::OneForOne | Self::SimpleOneForOne => &children[trigger..=trigger],
            Self::OneForAll => children,
            Self::RestForOne => &children[trigger..],
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of OTP's; carries the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown name {:?}", self.0)
    }
}

impl std::error::Error for UnknownName {}

impl FromStr for Strategy {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [
            Self::OneForOne,
            Self::OneForAll,
            Self::RestForOne,
            Self::SimpleOneForOne,
        ]
        .into_iter()
        .find(|strategy| strategy.name() == name)
        .ok_or_else(|| UnknownName(name.to_owned()))
    }
}

/// Why a child stopped running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    /// It finished its work and stopped of its own accord.
    Normal,
    /// It was asked to stop, by its supervisor or otherwise (OTP's
    /// `shutdown` and `{shutdown, Term}`).
    Shutdown,
    /// Anything else: an exception, a killed worker process, a kill after
    /// the shutdown timeout. Carries a description for reports.
    Failure(String),
}

impl ExitReason {
    /// Whether OTP calls the exit abnormal: neither normal nor a shutdown.
    pub fn is_abnormal(&self) -> bool {
        matches!(self, Self::Failure(_))
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::Failure(why) => write!(f, "failure: {why}"),
        }
    }
}

/// When a child that exited is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RestartType {
    /// Always, whatever the reason.
    #[default]
    Permanent,
    /// Only after an abnormal exit.
    Transient,
    /// Never; the supervisor forgets the child once it has stopped, even
    /// when a sibling's restart stopped it.
    Temporary,
}

impl RestartType {
    /// OTP's name for the restart type, e.g. `"permanent"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Permanent => "permanent",
            Self::Transient => "transient",
            Self::Temporary => "temporary",
        }
    }

    /// Whether a child of this type is restarted after exiting for `reason`.
    pub fn restarts_after(self, reason: &ExitReason) -> bool {
        match self {
            Self::Permanent => true,
            Self::Transient => reason.is_abnormal(),
            Self::Temporary => false,
        }
    }
}

impl fmt::Display for RestartType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RestartType {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Self::Permanent, Self::Transient, Self::Temporary]
            .into_iter()
            .find(|restart| restart.name() == name)
            .ok_or_else(|| UnknownName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASONS: [ExitReason; 3] = [
        ExitReason::Normal,
        ExitReason::Shutdown,
        ExitReason::Failure(String::new()),
    ];

    #[test]
    fn a_permanent_child_is_restarted_whatever_the_reason() {
        for reason in &REASONS {
            assert!(RestartType::Permanent.restarts_after(reason), "{reason}");
        }
    }

    #[test]
    fn a_transient_child_is_restarted_only_after_an_abnormal_exit() {
        assert!(!RestartType::Transient.restarts_after(&ExitReason::Normal));
        assert!(!RestartType::Transient.restarts_after(&ExitReason::Shutdown));
        assert!(RestartType::Transient.restarts_after(&ExitReason::Failure("boom".into())));
    }

    #[test]
    fn a_temporary_child_is_never_restarted() {
        for reason in &REASONS {
            assert!(!RestartType::Temporary.restarts_after(reason), "{reason}");
        }
    }

    #[test]
    fn only_a_failure_is_abnormal() {
        let abnormal: Vec<bool> = REASONS.iter().map(ExitReason::is_abnormal).collect();
        assert_eq!(abnormal, [false, false, true]);
    }

    #[test]
    fn one_for_one_restarts_only_the_child_that_exited() {
        let children = ["a", "b", "c", "d"];
        assert_eq!(Strategy::OneForOne.group(&children, 1), ["b"]);
        assert_eq!(Strategy::SimpleOneForOne.group(&children, 3), ["d"]);
    }

    #[test]
    fn one_for_all_restarts_every_child_in_start_order() {
        let children = ["a", "b", "c", "d"];
        assert_eq!(Strategy::OneForAll.group(&children, 2), children);
    }

    #[test]
    fn rest_for_one_restarts_the_child_and_those_started_after_it() {
        let children = ["a", "b", "c", "d"];
        assert_eq!(Strategy::RestForOne.group(&children, 1), ["b", "c", "d"]);
        assert_eq!(Strategy::RestForOne.group(&children, 3), ["d"]);
        assert_eq!(Strategy::RestForOne.group(&children, 0), children);
    }

    #[test]
    #[should_panic(expected = "the child to restart is one of the children")]
    fn a_trigger_outside_the_children_is_a_bug() {
        let _ = Strategy::OneForAll.group(&["a"], 1);
    }

    #[test]
    fn names_are_otps_and_read_back() {
        for strategy in [
            Strategy::OneForOne,
            Strategy::OneForAll,
            Strategy::RestForOne,
            Strategy::SimpleOneForOne,
        ] {
            assert_eq!(strategy.name().parse::<Strategy>(), Ok(strategy));
            assert_eq!(strategy.to_string(), strategy.name());
        }
        for restart in [
            RestartType::Permanent,
            RestartType::Transient,
            RestartType::Temporary,
        ] {
            assert_eq!(restart.name().parse::<RestartType>(), Ok(restart));
        }
        assert_eq!(Strategy::OneForOne.name(), "one_for_one");
        assert_eq!(RestartType::Transient.name(), "transient");
    }

    #[test]
    fn an_unknown_name_is_an_error_that_quotes_it() {
        let err = "none_for_one".parse::<Strategy>().unwrap_err();
        assert_eq!(err.to_string(), "unknown name \"none_for_one\"");
        assert!("prmanent".parse::<RestartType>().is_err());
    }

    #[test]
    fn the_default_restart_type_is_permanent_as_in_otp() {
        assert_eq!(RestartType::default(), RestartType::Permanent);
    }
}
