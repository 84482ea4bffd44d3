//! The latency plot of one transport: each client's latency at every percentile, as an SVG.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::compare::TransportReport;

pub fn latency(report: &TransportReport, path: &Path) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| anyhow!("plotting {}: {e}", path.display());
    let top = report
        .latency
        .iter()
        .flat_map(|l| l.curve.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.05;
    let root = SVGBackend::new(path, (760, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{}: sequential call latency by percentile",
                report.transport
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0f64..100.0, 0.0f64..top)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("microseconds")
        .draw()
        .map_err(|e| fail(&e))?;
    let colours = [RED, BLUE, GREEN, BLACK, MAGENTA];
    for (latency, colour) in report.latency.iter().zip(colours) {
        // curve[0..99] are the 1st..99th percentiles, curve[99] the 99.9th.
        let points = latency.curve.iter().enumerate().map(|(i, us)| {
            let percentile = if i < 99 { (i + 1) as f64 } else { 99.9 };
            (percentile, *us)
        });
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(latency.client.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
