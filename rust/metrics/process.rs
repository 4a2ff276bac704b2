//! This process's CPU time and resident memory, for the per-worker view.
//!
//! CPU time is the process's clock (`CLOCK_PROCESS_CPUTIME_ID`: user and
//! system time of every thread). Resident memory is the second field of
//! `/proc/self/statm` times the page size; where there is no `/proc`, the
//! reading is `None` rather than a guess.
//!
//! Rejected: `getrusage`'s `ru_maxrss` (the peak, not what is resident now),
//! and the parent reading `/proc/<pid>` of each worker (the workers report
//! themselves, through the same frames as their actors, so the numbers of
//! one snapshot come from one place).

use serde::{Deserialize, Serialize};

/// One process's resource use at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// The operating system's process id.
    pub pid: u32,
    /// CPU time used by every thread so far, in seconds.
    pub cpu_seconds: f64,
    /// Memory resident now, in bytes, where the system tells.
    pub rss_bytes: Option<u64>,
}

/// This process's usage now.
pub fn usage() -> Usage {
    let cpu = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Usage {
        pid: rustix::process::getpid().as_raw_pid().unsigned_abs(),
        cpu_seconds: cpu.tv_sec as f64 + cpu.tv_nsec as f64 / 1e9,
        rss_bytes: resident_bytes(),
    }
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * rustix::param::page_size() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work_and_memory_is_resident() {
        let before = usage();
        let mut spin = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(30) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        let after = usage();
        assert!(after.cpu_seconds > before.cpu_seconds);
        assert_eq!(after.pid, std::process::id());
        let rss = after.rss_bytes.expect("Linux has /proc");
        assert!(rss > 1 << 20, "a test process holds more than 1 MiB: {rss}");
    }
}
