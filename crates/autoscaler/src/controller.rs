//! Rounds of decisions: for each policy, the service's replicas from the
//! orchestrator, its signals' values, the [`Scaler`]'s decision, and the
//! change (unless in dry-run). Every round is reported as metrics:
//! `autoscaler_replicas{service}`, `autoscaler_desired_replicas{service}`,
//! `autoscaler_signal_value{service,signal}`,
//! `autoscaler_scalings_total{service,direction}` and
//! `autoscaler_errors_total{service,stage}`.

use std::{future::Future, time::Duration};

use crate::policy::{Decision, Policy, Reading, Scaler};

/// Where signal values come from (Prometheus).
pub trait Signals {
    /// The query's one number now; `None` when there is no data.
    fn value(&self, query: &str) -> impl Future<Output = anyhow::Result<Option<f64>>> + Send;
}

/// What runs the services (Docker Swarm).
pub trait Orchestrator {
    /// How many replicas `service` is set to run.
    fn replicas(&self, service: &str) -> impl Future<Output = anyhow::Result<u32>> + Send;
    /// Sets `service` to `replicas`.
    fn scale(
        &self,
        service: &str,
        replicas: u32,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

pub struct Controller<S, O> {
    signals: S,
    orchestrator: O,
    scalers: Vec<Scaler>,
    dry_run: bool,
}

impl<S: Signals, O: Orchestrator> Controller<S, O> {
    pub fn new(signals: S, orchestrator: O, policies: Vec<Policy>, dry_run: bool) -> Self {
        Self {
            signals,
            orchestrator,
            scalers: policies.into_iter().map(Scaler::new).collect(),
            dry_run,
        }
    }

    /// One round at `now` (a monotonic clock): every service's decision.
    pub async fn round(&mut self, now: Duration) -> Vec<(String, Decision)> {
        let Self {
            signals,
            orchestrator,
            scalers,
            dry_run,
        } = self;
        let mut decisions = Vec::new();
        for scaler in scalers.iter_mut() {
            let service = scaler.policy().service.clone();
            let current = match orchestrator.replicas(&service).await {
                Ok(n) => n,
                Err(e) => {
                    failed(&service, "inspect", &e);
                    continue;
                }
            };
            let mut readings = Vec::new();
            for signal in &scaler.policy().signals {
                let value = match signals.value(&signal.query).await {
                    Ok(value) => value,
                    Err(e) => {
                        failed(&service, "query", &e);
                        None
                    }
                };
                if let Some(value) = value {
                    metrics::gauge!("autoscaler_signal_value", "service" => service.clone(), "signal" => signal.name.clone())
                        .set(value);
                }
                readings.push(Reading {
                    signal: signal.name.clone(),
                    value,
                });
            }
            let decision = scaler.decide(now, current, &readings);
            metrics::gauge!("autoscaler_replicas", "service" => service.clone())
                .set(f64::from(current));
            metrics::gauge!("autoscaler_desired_replicas", "service" => service.clone())
                .set(f64::from(decision.replicas()));
            match &decision {
                Decision::Scale { from, to, reason } => {
                    let direction = if to > from { "up" } else { "down" };
                    tracing::info!(service = %service, from, to, reason = %reason, dry_run = *dry_run, "scaling");
                    metrics::counter!("autoscaler_scalings_total", "service" => service.clone(), "direction" => direction)
                        .increment(1);
                    if !*dry_run && let Err(e) = orchestrator.scale(&service, *to).await {
                        failed(&service, "scale", &e);
                    }
                }
                Decision::Keep { replicas, reason } => {
                    tracing::debug!(service = %service, replicas, reason = %reason, "keeping");
                }
            }
            decisions.push((service, decision));
        }
        decisions
    }
}

fn failed(service: &str, stage: &'static str, error: &anyhow::Error) {
    tracing::warn!(service = %service, stage, error.message = %format!("{error:#}"), "autoscaler step failed");
    metrics::counter!("autoscaler_errors_total", "service" => service.to_owned(), "stage" => stage)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{Arc, Mutex},
    };

    use super::*;
    use crate::policy::{Signal, Target};

    #[derive(Clone, Default)]
    struct Values(Arc<Mutex<HashMap<String, f64>>>);

    impl Signals for Values {
        async fn value(&self, query: &str) -> anyhow::Result<Option<f64>> {
            if query == "broken" {
                anyhow::bail!("no such metric");
            }
            Ok(self
                .0
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .get(query)
                .copied())
        }
    }

    #[derive(Clone, Default)]
    struct Services(Arc<Mutex<HashMap<String, u32>>>);

    impl Orchestrator for Services {
        async fn replicas(&self, service: &str) -> anyhow::Result<u32> {
            self.0
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .get(service)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("no service {service}"))
        }

        async fn scale(&self, service: &str, replicas: u32) -> anyhow::Result<()> {
            self.0
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .insert(service.to_owned(), replicas);
            Ok(())
        }
    }

    fn policy(service: &str, query: &str) -> Policy {
        Policy {
            service: service.into(),
            min_replicas: 1,
            max_replicas: 4,
            signals: vec![Signal {
                name: "rps".into(),
                query: query.into(),
                target: Target::AveragePerReplica(100.0),
            }],
            scale_up_window_secs: 0,
            scale_down_window_secs: 0,
            cooldown_secs: 0,
            tolerance: 0.1,
        }
    }

    #[tokio::test]
    async fn a_round_scales_each_service_through_the_orchestrator() {
        let values = Values::default();
        let services = Services::default();
        values.0.lock().unwrap().insert("catalog_rps".into(), 250.0);
        services
            .0
            .lock()
            .unwrap()
            .insert("mercato_catalog".into(), 1);
        services.0.lock().unwrap().insert("mercato_cart".into(), 2);
        let mut controller = Controller::new(
            values.clone(),
            services.clone(),
            vec![
                policy("mercato_catalog", "catalog_rps"),
                // No data for the cart: it keeps its replicas.
                policy("mercato_cart", "cart_rps"),
                // A service that does not exist is skipped, the rest go on.
                policy("mercato_gone", "catalog_rps"),
            ],
            false,
        );
        let decisions = controller.round(Duration::from_secs(1)).await;
        assert_eq!(decisions.len(), 2);
        assert_eq!(services.0.lock().unwrap()["mercato_catalog"], 3);
        assert_eq!(services.0.lock().unwrap()["mercato_cart"], 2);
        // The load goes: back to the minimum.
        values.0.lock().unwrap().insert("catalog_rps".into(), 0.0);
        let _ = controller.round(Duration::from_secs(2)).await;
        assert_eq!(services.0.lock().unwrap()["mercato_catalog"], 1);
    }

    #[tokio::test]
    async fn dry_run_decides_without_changing_anything() {
        let values = Values::default();
        let services = Services::default();
        values.0.lock().unwrap().insert("catalog_rps".into(), 400.0);
        services
            .0
            .lock()
            .unwrap()
            .insert("mercato_catalog".into(), 1);
        let mut controller = Controller::new(
            values,
            services.clone(),
            vec![policy("mercato_catalog", "catalog_rps")],
            true,
        );
        let decisions = controller.round(Duration::from_secs(1)).await;
        assert_eq!(decisions[0].1.replicas(), 4);
        assert_eq!(services.0.lock().unwrap()["mercato_catalog"], 1);
    }

    #[tokio::test]
    async fn a_failing_query_counts_as_no_data() {
        let services = Services::default();
        services
            .0
            .lock()
            .unwrap()
            .insert("mercato_catalog".into(), 2);
        let mut controller = Controller::new(
            Values::default(),
            services.clone(),
            vec![policy("mercato_catalog", "broken")],
            false,
        );
        let decisions = controller.round(Duration::from_secs(1)).await;
        assert_eq!(
            decisions[0].1,
            Decision::Keep {
                replicas: 2,
                reason: "no signal has data".into()
            }
        );
    }
}
