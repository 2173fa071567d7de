//! The scaling decision for one service, without I/O.
//!
//! Each signal proposes a replica count: `ceil(current × value ÷ target)`
//! for a per-replica average, `ceil(value ÷ target)` for a total, nothing
//! while its ratio to the target is within the tolerance. The largest
//! proposal wins, within the service's limits. As Kubernetes' HPA does, a
//! scale-up takes the lowest recommendation of its (short) window and a
//! scale-down the highest of its (long) window, so that one spike neither
//! adds replicas for a blip nor removes them in a lull; after a change, a
//! cooldown lets the new replicas take load before the next decision.

use std::{collections::VecDeque, time::Duration};

use serde::Deserialize;

/// What a signal's value is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The value is an average per replica (requests per second, CPU
    /// cores): the service wants `current × value ÷ target` replicas.
    AveragePerReplica(f64),
    /// The value is the service's total (a consumer's lag, an outbox's
    /// backlog): it wants `value ÷ target` replicas.
    Total(f64),
}

impl Target {
    fn value(self) -> f64 {
        match self {
            Self::AveragePerReplica(t) | Self::Total(t) => t,
        }
    }
}

/// One signal of a service: a PromQL query returning one number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// Names the signal in logs and in the autoscaler's own metrics.
    pub name: String,
    /// Evaluated as an instant query; an empty answer is "no data".
    pub query: String,
    pub target: Target,
}

/// A service's limits, signals and pacing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The Swarm service (in the stack: `<stack>_<service>`).
    pub service: String,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub signals: Vec<Signal>,
    /// A scale-up takes the lowest recommendation of this window.
    #[serde(default)]
    pub scale_up_window_secs: u64,
    /// A scale-down takes the highest recommendation of this window.
    #[serde(default = "five_minutes")]
    pub scale_down_window_secs: u64,
    /// No change this soon after the last one.
    #[serde(default = "one_minute")]
    pub cooldown_secs: u64,
    /// A signal within this share of its target proposes no change.
    #[serde(default = "ten_percent")]
    pub tolerance: f64,
}

fn five_minutes() -> u64 {
    300
}

fn one_minute() -> u64 {
    60
}

fn ten_percent() -> f64 {
    0.1
}

impl Policy {
    /// What is wrong with the policy, if anything.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.service;
        if self.min_replicas < 1 {
            return Err(format!("{name}: min_replicas must be at least 1"));
        }
        if self.max_replicas < self.min_replicas {
            return Err(format!("{name}: max_replicas is below min_replicas"));
        }
        if self.signals.is_empty() {
            return Err(format!("{name}: no signals"));
        }
        if let Some(bad) = self
            .signals
            .iter()
            .find(|s| !(s.target.value().is_finite() && s.target.value() > 0.0))
        {
            return Err(format!(
                "{name}: signal {} needs a positive target",
                bad.name
            ));
        }
        if !(0.0..1.0).contains(&self.tolerance) {
            return Err(format!("{name}: tolerance must be in [0, 1)"));
        }
        Ok(())
    }

    fn clamp(&self, replicas: u32) -> u32 {
        replicas.clamp(self.min_replicas, self.max_replicas)
    }
}

/// A signal's value now; `None` when Prometheus had no sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub signal: String,
    pub value: Option<f64>,
}

/// What to do with a service now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Leave it at `replicas`.
    Keep { replicas: u32, reason: String },
    /// Set it from `from` to `to` replicas.
    Scale { from: u32, to: u32, reason: String },
}

impl Decision {
    /// The replica count the service should have.
    pub fn replicas(&self) -> u32 {
        match self {
            Self::Keep { replicas, .. } => *replicas,
            Self::Scale { to, .. } => *to,
        }
    }
}

/// A service's policy and what it remembers between decisions.
#[derive(Debug, Clone)]
pub struct Scaler {
    policy: Policy,
    /// (when, recommendation), oldest first, as long as a window needs.
    history: VecDeque<(Duration, u32)>,
    last_change: Option<Duration>,
    /// The first decision: a window is trusted only once seen whole, so a
    /// restarted autoscaler does not scale down on its first reading.
    since: Option<Duration>,
}

impl Scaler {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            history: VecDeque::new(),
            last_change: None,
            since: None,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The decision at `now` (any monotonic clock) for a service running
    /// `current` replicas, given its signals' readings.
    pub fn decide(&mut self, now: Duration, current: u32, readings: &[Reading]) -> Decision {
        let since = *self.since.get_or_insert(now);
        let policy = &self.policy;
        // Someone scaled it outside its limits: back inside at once.
        if current != policy.clamp(current) {
            let to = policy.clamp(current);
            self.last_change = Some(now);
            self.history.clear();
            return Decision::Scale {
                from: current,
                to,
                reason: format!(
                    "outside its limits {}..{}",
                    policy.min_replicas, policy.max_replicas
                ),
            };
        }
        let Some((wanted, reason)) = self.proposal(current, readings) else {
            return Decision::Keep {
                replicas: current,
                reason: "no signal has data".into(),
            };
        };
        let recommendation = self.policy.clamp(wanted);
        self.remember(now, recommendation);

        let seen = |secs: u64| now.saturating_sub(since) >= Duration::from_secs(secs);
        let stabilised = if recommendation > current && seen(self.policy.scale_up_window_secs) {
            let lowest = self
                .within(now, self.policy.scale_up_window_secs)
                .min()
                .unwrap_or(recommendation);
            lowest.max(current)
        } else if recommendation < current && seen(self.policy.scale_down_window_secs) {
            let highest = self
                .within(now, self.policy.scale_down_window_secs)
                .max()
                .unwrap_or(recommendation);
            highest.min(current)
        } else {
            current
        };
        if stabilised == current {
            let reason = if recommendation == current {
                reason
            } else {
                format!("{reason}; held by the stabilisation window")
            };
            return Decision::Keep {
                replicas: current,
                reason,
            };
        }
        if let Some(last) = self.last_change
            && now.saturating_sub(last) < Duration::from_secs(self.policy.cooldown_secs)
        {
            return Decision::Keep {
                replicas: current,
                reason: format!("{reason}; cooling down after the last change"),
            };
        }
        self.last_change = Some(now);
        Decision::Scale {
            from: current,
            to: stabilised,
            reason,
        }
    }

    /// The largest replica count a signal with data asks for, and why.
    fn proposal(&self, current: u32, readings: &[Reading]) -> Option<(u32, String)> {
        let mut best: Option<(u32, String)> = None;
        for signal in &self.policy.signals {
            let Some(value) = readings
                .iter()
                .find(|r| r.signal == signal.name)
                .and_then(|r| r.value)
                .filter(|v| v.is_finite() && *v >= 0.0)
            else {
                continue;
            };
            let target = signal.target.value();
            let running = f64::from(current.max(1));
            // The value per replica against the target, for both kinds.
            let ratio = match signal.target {
                Target::AveragePerReplica(_) => value / target,
                Target::Total(_) => value / target / running,
            };
            let wanted = if (ratio - 1.0).abs() <= self.policy.tolerance {
                current
            } else {
                // Bounded by u32 replicas; an absurd value ends at max.
                (running * ratio).ceil().min(f64::from(u32::MAX)) as u32
            };
            let why = format!("{} is {value:.2} for a target of {target}", signal.name);
            if best.as_ref().is_none_or(|(b, _)| wanted > *b) {
                best = Some((wanted, why));
            }
        }
        best
    }

    fn remember(&mut self, now: Duration, recommendation: u32) {
        self.history.push_back((now, recommendation));
        let keep = Duration::from_secs(
            self.policy
                .scale_up_window_secs
                .max(self.policy.scale_down_window_secs),
        );
        while self
            .history
            .front()
            .is_some_and(|(at, _)| now.saturating_sub(*at) > keep)
        {
            self.history.pop_front();
        }
    }

    /// The recommendations made within the last `secs` (now's included).
    fn within(&self, now: Duration, secs: u64) -> impl Iterator<Item = u32> + '_ {
        let window = Duration::from_secs(secs);
        self.history
            .iter()
            .filter(move |(at, _)| now.saturating_sub(*at) <= window)
            .map(|(_, r)| *r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            service: "mercato_catalog".into(),
            min_replicas: 1,
            max_replicas: 5,
            signals: vec![
                Signal {
                    name: "requests_per_replica".into(),
                    query: "q1".into(),
                    target: Target::AveragePerReplica(300.0),
                },
                Signal {
                    name: "consumer_lag".into(),
                    query: "q2".into(),
                    target: Target::Total(100.0),
                },
            ],
            scale_up_window_secs: 0,
            scale_down_window_secs: 60,
            cooldown_secs: 30,
            tolerance: 0.1,
        }
    }

    fn readings(rps: Option<f64>, lag: Option<f64>) -> Vec<Reading> {
        vec![
            Reading {
                signal: "requests_per_replica".into(),
                value: rps,
            },
            Reading {
                signal: "consumer_lag".into(),
                value: lag,
            },
        ]
    }

    fn at(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn load_above_the_target_adds_replicas_in_proportion() {
        let mut scaler = Scaler::new(policy());
        let decision = scaler.decide(at(0), 1, &readings(Some(900.0), Some(0.0)));
        assert_eq!(
            decision,
            Decision::Scale {
                from: 1,
                to: 3,
                reason: "requests_per_replica is 900.00 for a target of 300".into()
            }
        );
    }

    #[test]
    fn a_value_within_the_tolerance_changes_nothing() {
        let mut scaler = Scaler::new(policy());
        let decision = scaler.decide(at(0), 2, &readings(Some(320.0), None));
        assert_eq!(decision.replicas(), 2);
        assert!(matches!(decision, Decision::Keep { .. }));
    }

    #[test]
    fn the_largest_proposal_wins_and_the_limits_hold() {
        let mut scaler = Scaler::new(policy());
        // Lag 2,000 for 100 per replica asks for 20; the maximum is 5.
        let decision = scaler.decide(at(0), 2, &readings(Some(300.0), Some(2000.0)));
        assert_eq!(decision.replicas(), 5);
        let Decision::Scale { reason, .. } = decision else {
            panic!("{decision:?}")
        };
        assert!(reason.starts_with("consumer_lag"), "{reason}");
        // No load at all: the minimum, not zero, once a whole window of
        // it has been seen (not on the first reading after a restart).
        let mut scaler = Scaler::new(policy());
        for t in [0, 30, 59] {
            let decision = scaler.decide(at(t), 2, &readings(Some(0.0), Some(0.0)));
            assert_eq!(decision.replicas(), 2, "at {t}s: {decision:?}");
        }
        assert_eq!(
            scaler
                .decide(at(60), 2, &readings(Some(0.0), Some(0.0)))
                .replicas(),
            1
        );
    }

    #[test]
    fn a_scale_down_waits_for_the_whole_window_of_lower_recommendations() {
        let mut scaler = Scaler::new(policy());
        // Busy: three replicas are right.
        assert_eq!(
            scaler
                .decide(at(0), 3, &readings(Some(300.0), None))
                .replicas(),
            3
        );
        // The load goes: one would do, but the window still holds three.
        for t in [10, 30, 59] {
            let decision = scaler.decide(at(t), 3, &readings(Some(50.0), None));
            assert_eq!(decision.replicas(), 3, "at {t}s: {decision:?}");
        }
        // A full window of low recommendations: down to one.
        let decision = scaler.decide(at(61), 3, &readings(Some(50.0), None));
        assert_eq!(decision.replicas(), 1, "{decision:?}");
        // A blip of load within the window keeps the replicas.
        let mut scaler = Scaler::new(policy());
        let _ = scaler.decide(at(0), 3, &readings(Some(50.0), None));
        let _ = scaler.decide(at(30), 3, &readings(Some(290.0), None));
        let held = scaler.decide(at(61), 3, &readings(Some(50.0), None));
        assert_eq!(held.replicas(), 3, "{held:?}");
        let down = scaler.decide(at(91), 3, &readings(Some(50.0), None));
        assert_eq!(down.replicas(), 1, "{down:?}");
    }

    #[test]
    fn a_scale_up_window_ignores_a_single_spike() {
        let mut scaler = Scaler::new(Policy {
            scale_up_window_secs: 30,
            ..policy()
        });
        let _ = scaler.decide(at(0), 1, &readings(Some(300.0), None));
        // One spike: the window's lowest recommendation is still one.
        let spike = scaler.decide(at(10), 1, &readings(Some(1500.0), None));
        assert_eq!(spike.replicas(), 1, "{spike:?}");
        // Sustained past the window: up.
        let _ = scaler.decide(at(25), 1, &readings(Some(1500.0), None));
        let sustained = scaler.decide(at(41), 1, &readings(Some(1500.0), None));
        assert_eq!(sustained.replicas(), 5, "{sustained:?}");
    }

    #[test]
    fn the_cooldown_holds_the_next_change_back() {
        let mut scaler = Scaler::new(policy());
        assert_eq!(
            scaler
                .decide(at(0), 1, &readings(Some(600.0), None))
                .replicas(),
            2
        );
        let held = scaler.decide(at(10), 2, &readings(Some(900.0), None));
        assert_eq!(held.replicas(), 2);
        let Decision::Keep { reason, .. } = held else {
            panic!("{held:?}")
        };
        assert!(reason.contains("cooling down"), "{reason}");
        assert_eq!(
            scaler
                .decide(at(31), 2, &readings(Some(900.0), None))
                .replicas(),
            5
        );
    }

    #[test]
    fn no_data_keeps_the_replicas_and_bad_values_are_ignored() {
        let mut scaler = Scaler::new(policy());
        let decision = scaler.decide(at(0), 2, &readings(None, Some(f64::NAN)));
        assert_eq!(
            decision,
            Decision::Keep {
                replicas: 2,
                reason: "no signal has data".into()
            }
        );
        assert_eq!(
            scaler
                .decide(at(1), 2, &readings(Some(-5.0), Some(f64::INFINITY)))
                .replicas(),
            2
        );
    }

    #[test]
    fn a_service_outside_its_limits_is_brought_back_at_once() {
        let mut scaler = Scaler::new(policy());
        let _ = scaler.decide(at(0), 1, &readings(Some(600.0), None));
        // Scaled by hand to 9, a second later (inside the cooldown).
        let decision = scaler.decide(at(1), 9, &readings(Some(300.0), None));
        assert_eq!(decision.replicas(), 5);
        assert!(matches!(decision, Decision::Scale { from: 9, to: 5, .. }));
        assert_eq!(
            Scaler::new(policy())
                .decide(at(0), 0, &readings(None, None))
                .replicas(),
            1
        );
    }

    #[test]
    fn a_policy_is_checked_and_read_from_its_file_format() {
        assert_eq!(policy().check(), Ok(()));
        for (broken, why) in [
            (
                Policy {
                    min_replicas: 0,
                    ..policy()
                },
                "min_replicas",
            ),
            (
                Policy {
                    max_replicas: 0,
                    ..policy()
                },
                "max_replicas",
            ),
            (
                Policy {
                    signals: vec![],
                    ..policy()
                },
                "no signals",
            ),
            (
                Policy {
                    tolerance: 1.5,
                    ..policy()
                },
                "tolerance",
            ),
        ] {
            let error = broken.check().unwrap_err();
            assert!(error.contains(why), "{error}");
        }
        let read: Policy = serde_json::from_value(serde_json::json!({
            "service": "mercato_catalog", "min_replicas": 1, "max_replicas": 4,
            "signals": [{"name": "rps", "query": "sum(rate(x[1m]))",
                         "target": {"average_per_replica": 200.0}}]
        }))
        .unwrap();
        assert_eq!(read.scale_down_window_secs, 300);
        assert_eq!(read.cooldown_secs, 60);
        assert_eq!(read.signals[0].target, Target::AveragePerReplica(200.0));
    }
}
