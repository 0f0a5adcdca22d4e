//! Charts as SVG (plotters): line charts over training steps and bar charts over runs.
//!
//! Text needs a font: plotters is built without fontconfig, and the DejaVu Sans file shipped in
//! `assets/fonts/` is registered once as "sans-serif", so charts look the same on every machine.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

use super::html::{escape, evcxr_html, format_number};
use crate::error::{Error, Result};

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
const WIDTH: u32 = 460;
const HEIGHT: u32 = 300;

/// Colours for series and bars, in order (Tableau 10).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and valid; a failure here would be a build defect.
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).unwrap_or_else(|_| panic!("the shipped font does not load"));
    });
}

/// A chart as an SVG document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub svg: String,
    /// What was compared and at what budget, shown under the chart (empty: none).
    pub caption: String,
}

/// One named line, with an optional shaded band around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// (x, low, high) at each x where the band is drawn (e.g. mean ± std over seeds).
    pub band: Vec<(f64, f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, band: Vec::new() }
    }

    /// The same line with a shaded band from low to high at each x.
    pub fn with_band(self, band: Vec<(f64, f64, f64)>) -> Self {
        Series { band, ..self }
    }
}

/// One bar, with an optional ± error (drawn as a whisker).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub error: Option<f64>,
}

/// An axis tick: four significant digits without trailing zeros (`0.88`, `1200`, `10`).
fn axis_label(v: f64) -> String {
    let text = format_number(v);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Other(format!("drawing a chart: {e}"))
}

/// (min, max) of `values` ignoring non-finite ones, widened by 5 % (and to a non-empty range).
fn padded_range(values: impl Iterator<Item = f64>, include_zero: bool) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() {
        return None;
    }
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    Some((if include_zero && lo == 0.0 { 0.0 } else { lo - pad }, hi + pad))
}

impl Chart {
    /// A line chart of `series` (non-finite points are skipped).
    pub fn lines(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Result<Self> {
        register_font();
        let band_edges: Vec<(f64, f64)> = series.iter().flat_map(|s| s.band.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])).collect();
        let all = || series.iter().flat_map(|s| s.points.iter().copied()).chain(band_edges.iter().copied()).filter(|(x, y)| x.is_finite() && y.is_finite());
        let (Some((x0, x1)), Some((y0, y1))) = (padded_range(all().map(|p| p.0), false), padded_range(all().map(|p| p.1), false)) else {
            return Err(Error::Other(format!("chart '{title}': no finite points to draw")));
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, (FAMILY, 16))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(52)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .x_label_formatter(&|v| axis_label(*v))
                .y_label_formatter(&|v| axis_label(*v))
                .label_style((FAMILY, 11))
                .axis_desc_style((FAMILY, 12))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(plot_err)?;
            for (i, s) in series.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                let band: Vec<(f64, f64, f64)> = s.band.iter().copied().filter(|(x, lo, hi)| x.is_finite() && lo.is_finite() && hi.is_finite()).collect();
                if band.len() > 1 {
                    // The upper edge left to right, then the lower edge back.
                    let outline: Vec<(f64, f64)> = band.iter().map(|&(x, _, hi)| (x, hi)).chain(band.iter().rev().map(|&(x, lo, _)| (x, lo))).collect();
                    chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.18).filled()))).map_err(plot_err)?;
                }
                let points: Vec<(f64, f64)> = s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(plot_err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .label_font((FAMILY, 11))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(plot_err)?;
            root.present().map_err(plot_err)?;
        }
        Ok(Chart { title: title.into(), svg, caption: String::new() })
    }

    /// A horizontal bar chart, one bar per entry (labels on the left, so long run names stay
    /// readable), with whiskers where an error is given.
    pub fn bars(title: &str, value_label: &str, bars: &[Bar]) -> Result<Self> {
        register_font();
        if bars.is_empty() {
            return Err(Error::Other(format!("chart '{title}': no bars to draw")));
        }
        let tops = bars.iter().map(|b| b.value + b.error.unwrap_or(0.0));
        let Some((v0, v1)) = padded_range(tops.chain(bars.iter().map(|b| b.value)), true) else {
            return Err(Error::Other(format!("chart '{title}': no finite values to draw")));
        };
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
        let height = 90 + 26 * bars.len() as u32;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH + 6 * longest, height)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, (FAMILY, 16))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(14 + 7 * longest)
                .build_cartesian_2d(v0..v1, (0..bars.len() - 1).into_segmented())
                .map_err(plot_err)?;
            // The first bar at the top: bar i sits in segment n - 1 - i.
            let n = bars.len();
            let label_of = |v: &SegmentValue<usize>| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => labels.get(n - 1 - (*i).min(n - 1)).cloned().unwrap_or_default(),
                SegmentValue::Last => String::new(),
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(value_label)
                .x_label_formatter(&|v| axis_label(*v))
                .y_labels(bars.len())
                .y_label_formatter(&label_of)
                .label_style((FAMILY, 11))
                .axis_desc_style((FAMILY, 12))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(plot_err)?;
            chart
                .draw_series(bars.iter().enumerate().map(|(i, b)| {
                    let color = PALETTE[i % PALETTE.len()];
                    let mut rect = Rectangle::new([(0.0, SegmentValue::Exact(n - 1 - i)), (b.value, SegmentValue::Exact(n - i))], color.filled());
                    rect.set_margin(4, 4, 0, 0);
                    rect
                }))
                .map_err(plot_err)?;
            let whiskers = bars.iter().enumerate().filter_map(|(i, b)| {
                let e = b.error.filter(|e| e.is_finite() && *e > 0.0)?;
                Some(ErrorBar::new_horizontal(SegmentValue::CenterOf(n - 1 - i), b.value - e, b.value, b.value + e, BLACK.stroke_width(1), 8))
            });
            chart.draw_series(whiskers).map_err(plot_err)?;
            root.present().map_err(plot_err)?;
        }
        Ok(Chart { title: title.into(), svg, caption: String::new() })
    }

    /// The chart with `caption` under it.
    pub fn with_caption(self, caption: impl Into<String>) -> Self {
        Chart { caption: caption.into(), ..self }
    }

    /// The SVG wrapped in a `<figure>` for HTML pages, with its caption.
    pub fn to_html(&self) -> String {
        let caption = if self.caption.is_empty() {
            String::new()
        } else {
            format!("<figcaption style=\"font-size:12px;color:#444;max-width:{WIDTH}px\">{}</figcaption>", escape(&self.caption))
        };
        format!("<figure class=\"gan-lab-chart\" title=\"{}\" style=\"margin:0\">{}{caption}</figure>", escape(&self.title), self.svg)
    }

    /// Saves the SVG, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::run::write_atomic(path.as_ref(), self.svg.as_bytes())
    }

    /// evcxr rich display: the chart as HTML (evcxr shows one output per MIME type per cell).
    pub fn evcxr_display(&self) {
        evcxr_html(&self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_is_an_svg_with_its_title_and_legend() {
        let c = Chart::lines(
            "losses",
            "step",
            "BCE",
            &[Series::new("D loss", vec![(0.0, 1.4), (10.0, 1.1), (20.0, f64::NAN)]), Series::new("G loss", vec![(0.0, 0.7), (10.0, 0.9)])],
        )
        .unwrap();
        assert!(c.svg.starts_with("<svg"), "{}", &c.svg[..40]);
        for text in ["losses", "D loss", "G loss", "step", "BCE", "<polyline"] {
            assert!(c.svg.contains(text), "missing {text}");
        }
    }

    #[test]
    fn a_chart_without_finite_points_is_an_error() {
        let err = Chart::lines("empty", "x", "y", &[Series::new("a", vec![(1.0, f64::NAN)])]).unwrap_err();
        assert!(err.to_string().contains("no finite points"), "{err}");
        assert!(Chart::bars("none", "y", &[]).is_err());
    }

    #[test]
    fn a_bar_chart_labels_every_bar_and_draws_whiskers() {
        let bars = [
            Bar { label: "flex".into(), value: 54.9, error: Some(2.0) },
            Bar { label: "ndarray".into(), value: 3.5, error: None },
        ];
        let c = Chart::bars("images/s", "images/s", &bars).unwrap();
        assert!(c.svg.contains("flex") && c.svg.contains("ndarray"));
        assert!(c.svg.matches("<rect").count() >= 3, "background + 2 bars");
        assert!(c.svg.contains("<line") || c.svg.contains("<polyline"), "a whisker");
        assert!(!c.to_html().contains("figcaption"), "no caption unless given");
        let html = c.with_caption("2 runs <each 500 steps>").to_html();
        assert!(html.contains("<figcaption") && html.contains("2 runs &lt;each 500 steps&gt;</figcaption></figure>"), "{html}");
    }

    #[test]
    fn long_bar_labels_get_room_of_their_own() {
        let bars: Vec<Bar> = (0..10).map(|i| Bar { label: format!("dcgan28-platforms/flex×{i}"), value: 10.0 * i as f64, error: None }).collect();
        let c = Chart::bars("many runs", "images/s", &bars).unwrap();
        assert!(c.svg.contains("text-anchor=\"end\""), "labels right-aligned left of the bars");
        assert!(c.svg.contains("dcgan28-platforms/flex×9"));
        if let Ok(dir) = std::env::var("GAN_LAB_KEEP_CHARTS") {
            c.save(std::path::Path::new(&dir).join("many.svg")).unwrap();
        }
    }

    #[test]
    fn axis_ticks_drop_trailing_zeros() {
        assert_eq!(axis_label(0.88), "0.88");
        assert_eq!(axis_label(10.0), "10");
        assert_eq!(axis_label(1200.0), "1200");
        assert_eq!(axis_label(0.0), "0");
    }

    #[test]
    fn ranges_are_padded_and_bars_start_at_zero() {
        assert_eq!(padded_range([2.0, 4.0].into_iter(), true), Some((0.0, 4.2)));
        let (lo, hi) = padded_range([1.0, 1.0].into_iter(), false).unwrap();
        assert!(lo < 1.0 && hi > 1.0);
        assert_eq!(padded_range([f64::NAN].into_iter(), false), None);
    }
}
