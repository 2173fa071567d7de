//! Mercato's event backbone.
//!
//! A service writes its state change and its events in one transaction
//! ([`outbox::Outbox::append`]); a relay per service publishes pending rows
//! in order to the bus and marks them published ([`outbox::run_relay`]).
//! Consumers subscribe with a [`bus::Handler`] and make their effect
//! idempotent with the [`inbox`] in their own transaction. Delivery is at
//! least once; effects are exactly once.
//!
//! Two buses implement [`bus::EventBus`]: [`nats::NatsBus`] (JetStream,
//! durable consumers, redelivery with backoff, dead-letter subject) and
//! [`memory::InProcessBus`] for the all-in-one process, which still goes
//! through the outboxes so a crash loses nothing.

pub mod bus;
pub mod config;
pub mod envelope;
pub mod inbox;
pub mod memory;
pub mod nats;
pub mod outbox;

pub use bus::{EventBus, Handler, Subscription};
pub use config::EventBusConfig;
pub use envelope::Envelope;
