//! Latency against achieved throughput, one line per setup, from the
//! open-model runs of one scenario: where a line turns up is where that
//! setup saturates.

use std::fmt::Write as _;

use crate::{
    report::{Model, RunRecord},
    scenario::Scenario,
};

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/// A point: achieved per second, p50 and p99 in milliseconds.
type Point = (f64, f64, f64);

/// The SVG document.
pub fn svg(records: &[RunRecord], scenario: Scenario) -> String {
    let mut series: Vec<(String, Vec<Point>)> = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.scenario == scenario && matches!(r.model, Model::Open { .. }))
    {
        // Checkouts count completed ones; other scenarios count requests.
        let s = if scenario == Scenario::Checkout {
            r.checkouts().unwrap_or(&r.total)
        } else {
            &r.total
        };
        let point = (s.per_second, s.p50_ms, s.p99_ms);
        match series.iter_mut().find(|(name, _)| *name == r.setup) {
            Some((_, points)) => points.push(point),
            None => series.push((r.setup.clone(), vec![point])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let max_x = nice(
        series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.0))
            .fold(1.0, f64::max),
    );
    let max_y = nice(
        series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.2))
            .fold(1.0, f64::max),
    );
    let x = |v: f64| LEFT + v / max_x * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / max_y * (H - TOP - BOTTOM);
    let unit = if scenario == Scenario::Checkout {
        "checkouts/s (to paid)"
    } else {
        "requests/s"
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="22" font-size="15">{}: latency against throughput (solid p99, dashed p50)</text>"#,
        scenario_title(scenario)
    );
    for i in 0..=5 {
        let (vx, vy) = (max_x * f64::from(i) / 5.0, max_y * f64::from(i) / 5.0);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{vy:.0}</text>"##,
            W - RIGHT,
            y(vy),
            y(vy),
            LEFT - 6.0,
            y(vy) + 4.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{vx:.0}</text>"#,
            x(vx),
            H - BOTTOM + 16.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{unit}</text><text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">latency, ms</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0,
        (TOP + H - BOTTOM) / 2.0
    );
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        for (pick, dash) in [(2usize, ""), (1, r#" stroke-dasharray="5 4""#)] {
            let path: Vec<String> = points
                .iter()
                .map(|p| {
                    let v = if pick == 2 { p.2 } else { p.1 };
                    format!("{:.1},{:.1}", x(p.0), y(v))
                })
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"/>"#,
                path.join(" ")
            );
        }
        for p in points {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                x(p.0),
                y(p.2)
            );
        }
        let ly = TOP + 20.0 + 20.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="14" height="4" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            W - RIGHT + 14.0,
            ly - 4.0,
            W - RIGHT + 34.0,
            ly,
            escape(name)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn scenario_title(s: Scenario) -> &'static str {
    match s {
        Scenario::Checkout => "Checkout",
        Scenario::Browse => "Browse",
        _ => "Scenario",
    }
}

/// A round upper bound for an axis: 1, 2 or 5 times a power of ten.
fn nice(v: f64) -> f64 {
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&c| c >= v)
        .unwrap_or(v)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(13.0), 20.0);
        assert_eq!(nice(4_200.0), 5_000.0);
        assert_eq!(nice(50.0), 50.0);
    }
}
