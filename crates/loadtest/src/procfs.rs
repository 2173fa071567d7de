//! CPU time and peak memory of processes, from Linux's /proc.

use serde::{Deserialize, Serialize};

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, which Linux fixes at
/// 100 per second on every architecture for this interface.
const TICKS_PER_SECOND: f64 = 100.0;

/// A process to watch: a name for the report and its pid; with `tree`, its
/// descendants too (PostgreSQL serves each connection from a child).
#[derive(Debug, Clone)]
pub struct Watched {
    pub name: String,
    pub pid: u32,
    pub tree: bool,
}

impl Watched {
    /// The pids it stands for now.
    pub fn pids(&self) -> Vec<u32> {
        if self.tree {
            with_descendants(self.pid)
        } else {
            vec![self.pid]
        }
    }

    /// CPU seconds used so far by its processes (a child that has
    /// exited no longer counts, so trees suit long-lived children).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pids = self.pids();
        let each: Vec<f64> = pids.iter().filter_map(|p| cpu_seconds(*p)).collect();
        (!each.is_empty()).then(|| each.iter().sum())
    }

    /// Memory: one process's peak RSS; for a tree, the sum of its
    /// processes' current proportional set sizes (their RSS would count
    /// PostgreSQL's shared buffers once per backend).
    pub fn memory_mib(&self) -> Option<f64> {
        if !self.tree {
            return peak_rss_mib(self.pid);
        }
        let each: Vec<f64> = self.pids().iter().filter_map(|p| pss_mib(*p)).collect();
        (!each.is_empty()).then(|| each.iter().sum())
    }
}

/// `pid` and every process below it.
fn with_descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let ppid = std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                });
            if let Some(ppid) = ppid {
                parent_of.push((child, ppid));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let current = found[i];
        found.extend(
            parent_of
                .iter()
                .filter(|(_, ppid)| *ppid == current)
                .map(|(child, _)| *child),
        );
        i += 1;
    }
    found
}

impl std::str::FromStr for Watched {
    type Err = String;

    /// `name=pid`, or a bare pid (named `server`); `name=pid+` includes
    /// the process's descendants.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, pid) = s.split_once('=').unwrap_or(("server", s));
        let (pid, tree) = match pid.strip_suffix('+') {
            Some(pid) => (pid, true),
            None => (pid, false),
        };
        let pid = pid
            .parse()
            .map_err(|_| format!("{s}: expected name=pid, name=pid+ or a pid"))?;
        Ok(Self {
            name: name.to_owned(),
            pid,
            tree,
        })
    }
}

/// What one process (or tree) used during a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Usage {
    pub name: String,
    pub cpu_seconds: f64,
    /// A process: peak resident memory since it started (VmHWM). A tree:
    /// the sum of its proportional set sizes at the end of the run.
    pub peak_rss_mib: f64,
    /// Whether this is a process tree (a database server).
    #[serde(default)]
    pub tree: bool,
}

/// CPU seconds (user + system) the process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state is field 3 of proc(5), utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// Peak resident set size in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Proportional set size in MiB (shared pages divided among their users).
pub fn pss_mib(pid: u32) -> Option<f64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = rollup.lines().find(|l| l.starts_with("Pss:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a failed step fails the test loudly, in helpers too"
    )]

    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        // Burn a little CPU so the counter is not trivially zero-safe.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        assert!(peak_rss_mib(pid).unwrap() > 1.0);
        assert!(load_average().is_some());
        let w: Watched = "catalog=42".parse().unwrap();
        assert_eq!((w.name.as_str(), w.pid, w.tree), ("catalog", 42, false));
        let me: Watched = format!("me={pid}+").parse().unwrap();
        assert!(me.tree && me.pids().contains(&pid));
        assert!(me.cpu_seconds().is_some());
        assert!(me.memory_mib().unwrap() > 1.0);
        assert!("x=y".parse::<Watched>().is_err());
    }
}
