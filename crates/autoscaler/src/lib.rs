//! Mercato's autoscaler for Docker Swarm, which has none of its own.
//!
//! [`policy`] is the decision, without I/O: from each signal's value (a
//! Prometheus query per service: requests per second or CPU per replica,
//! the saga's consumer lag, the outbox backlog) to a replica count within
//! the service's limits, the way Kubernetes' HorizontalPodAutoscaler
//! decides, so that one policy reads the same on both orchestrators.
//! [`controller`] runs the policies on a clock against a [`Signals`]
//! source ([`prometheus::Prometheus`]) and an [`Orchestrator`]
//! ([`swarm::Swarm`], the Docker Engine API), and records what it decided
//! as metrics of its own.
//!
//! [`Signals`]: controller::Signals
//! [`Orchestrator`]: controller::Orchestrator

pub mod config;
pub mod controller;
pub mod policy;
pub mod prometheus;
pub mod swarm;
