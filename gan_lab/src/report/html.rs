//! HTML for notebooks and reports: tables from DataFrames, PNG images as data URIs, and evcxr's
//! rich-display protocol (one `text/html` block per value).

use base64::Engine;
use polars::prelude::{AnyValue, DataFrame};

use super::ImageGrid;
use crate::error::Result;
use crate::run::RunTable;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cell(value: &AnyValue) -> String {
    match value {
        AnyValue::Null => String::new(),
        AnyValue::Float64(v) => format_number(*v),
        AnyValue::Float32(v) => format_number(*v as f64),
        AnyValue::String(s) => escape(s),
        AnyValue::StringOwned(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// Four significant digits, no exponent for everyday magnitudes.
pub fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{v:.digits$}")
}

/// `mean ± spread` with the digits the spread leaves meaningful: the spread to two significant
/// digits and the mean to the same decimal place (`42 ± 12`, `0.0123 ± 0.0014`); `mean ± n/a`
/// when the spread is unknown (NaN: one sample, or a statistic computed once).
pub fn format_spread(mean: f64, spread: f64) -> String {
    if !(mean.is_finite() && spread.is_finite()) {
        return format!("{} ± n/a", format_number(mean));
    }
    if spread <= 0.0 {
        return format!("{} ± 0", format_number(mean));
    }
    let decimals = (1 - spread.log10().floor() as i32).clamp(0, 8) as usize;
    format!("{mean:.decimals$} ± {spread:.decimals$}")
}

/// `table` in a frame of the page's width that scrolls sideways when the table is wider.
pub fn scrolling(table: &str) -> String {
    format!("<div style=\"overflow-x:auto;max-width:100%\">{table}</div>")
}

/// A DataFrame as an HTML table (numbers right-aligned, nulls empty), scrolling sideways when wide.
pub fn frame_to_html(df: &DataFrame, class: &str) -> String {
    let mut html = format!("<table class=\"{}\">\n<thead><tr>", escape(class));
    for name in df.get_column_names() {
        html += &format!("<th>{}</th>", escape(name.as_str()));
    }
    html += "</tr></thead>\n<tbody>\n";
    let columns = df.columns();
    for i in 0..df.height() {
        html += "<tr>";
        for col in columns {
            let v = col.get(i).unwrap_or(AnyValue::Null);
            let numeric = col.dtype().is_primitive_numeric();
            let style = if numeric { " style=\"text-align:right\"" } else { "" };
            html += &format!("<td{style}>{}</td>", cell(&v));
        }
        html += "</tr>\n";
    }
    scrolling(&(html + "</tbody>\n</table>"))
}

/// A standalone HTML page around `body`.
pub fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\n<style>body{{font-family:sans-serif}} table{{border-collapse:collapse;font-size:13px}} th,td{{border:1px solid #ccc;padding:3px 6px}} th{{background:#eee}}</style></head>\n<body><h1>{0}</h1>\n{1}\n</body></html>\n",
        escape(title),
        body
    )
}

/// Prints `html` as one evcxr rich output (shown when the cell ends).
pub fn evcxr_html(html: &str) {
    println!("EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT");
}

/// Prints `html` as one evcxr rich output, or the error that kept it from being made.
pub fn evcxr_html_or_error(html: Result<String>) {
    match html {
        Ok(html) => evcxr_html(&html),
        Err(e) => println!("{e}"),
    }
}

impl ImageGrid {
    /// `data:image/png;base64,…`, for embedding in HTML.
    pub fn to_data_uri(&self) -> Result<String> {
        Ok(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(self.to_png()?)))
    }

    /// An `<img>` element holding the grid.
    pub fn to_html(&self) -> Result<String> {
        let (w, h) = self.image.dimensions();
        Ok(format!("<img width=\"{w}\" height=\"{h}\" src=\"{}\"/>", self.to_data_uri()?))
    }

    /// evcxr rich display: the grid as a PNG.
    pub fn evcxr_display(&self) {
        match self.to_png() {
            Ok(png) => println!(
                "EVCXR_BEGIN_CONTENT image/png\n{}\nEVCXR_END_CONTENT",
                base64::engine::general_purpose::STANDARD.encode(png)
            ),
            Err(e) => println!("{e}"),
        }
    }
}

/// `save_html` (a standalone page) and `evcxr_display` (inline in a notebook) for tables that have
/// `to_html`; inherent methods, which is what evcxr looks for.
macro_rules! page_and_display {
    ($($table:ty),+) => {$(
        impl $table {
            /// Saves the table as a standalone HTML page.
            pub fn save_html(&self, path: impl AsRef<std::path::Path>, title: &str) -> Result<()> {
                crate::run::write_atomic(path.as_ref(), html_page(title, &self.to_html()).as_bytes())
            }

            /// evcxr rich display: the table as HTML.
            pub fn evcxr_display(&self) {
                evcxr_html(&self.to_html());
            }
        }
    )+};
}

page_and_display!(RunTable, crate::run::GroupedTable, crate::run::AnswerTable);

impl RunTable {
    /// The compact table as HTML (the full frame when the compact one cannot be built).
    pub fn to_html(&self) -> String {
        let df = self.compact().unwrap_or_else(|_| self.frame.clone());
        frame_to_html(&df, "gan-lab-runs")
    }
}

impl crate::run::GroupedTable {
    /// The compact table (`mean ± std` cells) as HTML.
    pub fn to_html(&self) -> String {
        let df = self.compact().unwrap_or_else(|_| self.frame.clone());
        frame_to_html(&df, "gan-lab-groups")
    }
}

impl crate::run::AnswerTable {
    /// The table under its caption, as HTML.
    pub fn to_html(&self) -> String {
        let table = self.frame().map_or_else(|e| format!("<p>{}</p>", escape(&e.to_string())), |df| frame_to_html(&df, "gan-lab-answers"));
        format!("<p>{}</p>\n{table}", escape(&self.caption()))
    }
}

impl crate::config::ExperimentConfig {
    /// A one-line summary with the full JSON folded underneath.
    pub fn to_html(&self) -> String {
        let [c, h, w] = self.image_shape();
        let g = &self.generator;
        let d = &self.discriminator;
        format!(
            "<div class=\"gan-lab-config\"><p><b>{}</b> — {} at {c}×{h}×{w}, batch {}, seed {}, loss {:?}</p><ul><li>G: {:?}, {:?}, BatchNorm {}</li><li>D: {:?}, {:?}, BatchNorm {}, dropout {:?}</li><li>optimisers: G {:?}; D {:?}</li></ul><details><summary>JSON</summary><pre>{}</pre></details></div>",
            escape(&self.name),
            escape(&self.data.dataset),
            self.train.batch_size,
            self.seed,
            self.loss,
            g.architecture_kind(),
            g.activation,
            g.batch_norm,
            d.architecture_kind(),
            d.activation,
            d.batch_norm,
            d.dropout,
            self.g_optimizer,
            self.d_optimizer,
            escape(&self.to_json())
        )
    }

    /// evcxr rich display.
    pub fn evcxr_display(&self) {
        evcxr_html(&self.to_html());
    }
}

impl crate::run::QualityRow {
    /// The numbers as a one-row HTML table, with the protocol underneath.
    pub fn to_html(&self) -> String {
        let cells = [
            ("step", self.step.to_string()),
            ("FLD", format_number(self.fld)),
            // No spread (or rounding noise of identical subsets, in rows written before `kid`
            // computed that case once) means every subset was the whole sample set: one value.
            ("KID", format_spread(self.kid_mean, if self.kid_std > 1e-9 * self.kid_mean.abs() { self.kid_std } else { f64::NAN })),
            ("precision", format_number(self.precision)),
            ("recall", format_number(self.recall)),
            ("density", format_number(self.density)),
            ("coverage", format_number(self.coverage)),
            ("classes hit", format!("{:.0}%", 100.0 * self.class_coverage)),
            ("eval s", format_number(self.eval_s)),
        ];
        let head: String = cells.iter().map(|(k, _)| format!("<th>{k}</th>")).collect();
        let row: String = cells.iter().map(|(_, v)| format!("<td style=\"text-align:right\">{}</td>", escape(v))).collect();
        let table = scrolling(&format!("<table class=\"gan-lab-quality\"><tr>{head}</tr><tr>{row}</tr></table>"));
        format!("{table}<p><small>protocol: {}</small></p>", escape(&self.protocol.key()))
    }

    /// evcxr rich display.
    pub fn evcxr_display(&self) {
        evcxr_html(&self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame};

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(format_number(1256.7328), "1257");
        assert_eq!(format_number(0.012345), "0.01235");
        assert_eq!(format_number(54.927), "54.93");
        assert_eq!(format_number(0.0), "0");
    }

    #[test]
    fn a_spread_keeps_the_digits_it_leaves_meaningful() {
        assert_eq!(format_spread(42.04, 12.2), "42 ± 12");
        assert_eq!(format_spread(233.3, 152.8), "233 ± 153");
        assert_eq!(format_spread(0.012345, 0.00137), "0.0123 ± 0.0014");
        assert_eq!(format_spread(0.5, 0.05), "0.500 ± 0.050");
        assert_eq!(format_spread(1.0, 0.0), "1.000 ± 0");
        assert_eq!(format_spread(0.01234, f64::NAN), "0.01234 ± n/a");
        assert_eq!(format_spread(f64::NAN, 1.0), "NaN ± n/a");
    }

    #[test]
    fn a_frame_becomes_a_table_with_headers_escaped_text_and_empty_nulls() {
        let df = DataFrame::new(
            2,
            vec![Column::new("run<1>".into(), vec!["a&b", "c"]), Column::new("fld".into(), vec![Some(12.3456), None])],
        )
        .unwrap();
        let html = frame_to_html(&df, "t");
        assert!(html.starts_with("<div style=\"overflow-x:auto;max-width:100%\"><table class=\"t\">"), "wide tables scroll in their frame");
        assert!(html.ends_with("</table></div>"));
        assert!(html.contains("<th>run&lt;1&gt;</th><th>fld</th>"));
        assert!(html.contains("<td>a&amp;b</td><td style=\"text-align:right\">12.35</td>"));
        assert!(html.contains("<td>c</td><td style=\"text-align:right\"></td>"));
    }

    #[test]
    fn a_grid_embeds_as_a_png_data_uri() {
        let g = ImageGrid::from_chw(&[0.0; 4], 1, [1, 2, 2], 1).unwrap();
        let uri = g.to_data_uri().unwrap();
        assert!(uri.starts_with("data:image/png;base64,iVBORw0KGgo"), "{uri}");
        assert!(g.to_html().unwrap().starts_with("<img width=\"6\" height=\"6\" src=\"data:image/png;base64,"));
    }
}
