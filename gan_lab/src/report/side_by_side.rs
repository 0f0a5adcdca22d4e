//! Sample grids next to each other, each with its caption: two runs at the same step, or one run
//! at several steps, as one HTML block in a notebook.

use super::html::{escape, evcxr_html_or_error};
use super::ImageGrid;
use crate::error::{Error, Result};

/// Captioned grids shown in one row (wrapping on a narrow page).
#[derive(Debug, Clone)]
pub struct SideBySide {
    pub items: Vec<(String, ImageGrid)>,
}

impl SideBySide {
    /// `items` in order, left to right.
    pub fn new(items: Vec<(String, ImageGrid)>) -> Self {
        SideBySide { items }
    }

    /// One `<figure>` per grid in a wrapping row.
    pub fn to_html(&self) -> Result<String> {
        if self.items.is_empty() {
            return Err(Error::Other("nothing to show side by side: no grids given".into()));
        }
        let mut html = String::from("<div class=\"gan-lab-side-by-side\" style=\"display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start\">");
        for (caption, grid) in &self.items {
            html += &format!("<figure style=\"margin:0\">{}<figcaption>{}</figcaption></figure>", grid.to_html()?, escape(caption));
        }
        Ok(html + "</div>")
    }

    /// evcxr rich display.
    pub fn evcxr_display(&self) {
        evcxr_html_or_error(self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_sit_in_one_row_under_their_escaped_captions() {
        let grid = ImageGrid::from_chw(&[0.0; 4], 1, [1, 2, 2], 1).unwrap();
        let html = SideBySide::new(vec![("plain <300>".into(), grid.clone()), ("ADA".into(), grid)]).to_html().unwrap();
        assert_eq!(html.matches("<figure").count(), 2);
        assert!(html.contains("<figcaption>plain &lt;300&gt;</figcaption>") && html.contains("<figcaption>ADA</figcaption>"));
        assert!(SideBySide::new(Vec::new()).to_html().is_err());
    }
}
