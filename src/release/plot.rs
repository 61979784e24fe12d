//! The training report's plots: loss per step and accuracy at a few steps,
//! the fixed-point model against the float reference, as SVG drawn by
//! `plotters`. The drawing is a pure function of the report, so a verifier
//! redraws it and compares bytes.

use plotters::prelude::*;

use crate::train::run::report::{CurvePoint, TrainingReport, MAX_LOSS};
use crate::Error;

const SIZE: (u32, u32) = (720, 420);

fn draw(title: &str, y_label: &str, points: &[CurvePoint], y_max: f64) -> Result<String, Error> {
    let fail = |_| Error::Internal("drawing a plot");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let x_max = points.last().map_or(1, |p| p.step.max(1));
        let x_min = points.first().map_or(0, |p| p.step.min(x_max - 1));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x_min..x_max, 0.0..y_max)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc(y_label)
            .draw()
            .map_err(fail)?;
        let series = [
            ("fixed point (proven run)", BLUE, true),
            ("float reference (not proven)", RED, false),
        ];
        for (label, color, fixed) in series {
            let line = points
                .iter()
                .map(|p| (p.step, if fixed { p.fixed } else { p.float }));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(fail)?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(fail)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

/// The loss plot: each step's batch loss after the step.
pub fn loss_svg(report: &TrainingReport) -> Result<String, Error> {
    let top = report
        .loss
        .iter()
        .flat_map(|p| [p.fixed, p.float])
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    draw(
        "Training loss per step (batch)",
        "loss",
        &report.loss,
        (top * 1.1).clamp(1e-3, 1.1 * MAX_LOSS),
    )
}

/// The accuracy plot: accuracy on the report's rows at a few steps.
pub fn accuracy_svg(report: &TrainingReport) -> Result<String, Error> {
    draw(
        &format!(
            "Accuracy on {} {} rows",
            report.accuracy_count, report.accuracy_rows
        ),
        "accuracy",
        &report.accuracy,
        1.0,
    )
}
