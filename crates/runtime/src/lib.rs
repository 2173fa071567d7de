//! How a service runs in a Mercato process.
//!
//! Each service crate builds its own [`Module`] from its configuration and
//! a [`Context`] (the process's bus, discovery, shared configuration and
//! what the services built before it offer in-process). The binary only
//! lists the modules of the selected targets, serves their routes and runs
//! their outbox relays and tasks under one [`Supervisor`], after the shape
//! of Grafana Loki's modules (docs/architecture.md).

mod context;
mod module;
mod periodic;
mod supervisor;

pub use context::{Context, MigratorFor, open_database};
pub use module::{Module, Task};
pub use periodic::{FirstRun, Periodic};
pub use supervisor::{Supervisor, TaskDied};
