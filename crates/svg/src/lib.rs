//! Charts as inline SVG: data in, an `<svg>` string out. No JavaScript, no fonts, no
//! network: the HTML report opens offline, and the dashboard reuses the same charts.
//!
//! ```ignore
//! let svg = Chart::new("Height")
//!     .x(Axis::new("time since start", Unit::Seconds))
//!     .y(Axis::new("height", Unit::Count))
//!     .band(Band::new(120.0, 180.0, "stall: cpu"))
//!     .series(Series::line("current", GREEN, points))
//!     .render();
//! ```
//!
//! A `NaN` y value breaks a line (an RPC outage is a gap, not a slope).

mod axis;
mod draw;

pub use axis::{Scale, Unit, label, scale};

/// A colour-blind-safe palette (Okabe–Ito), in the order series usually need them.
pub const BLUE: &str = "#0072B2";
pub const ORANGE: &str = "#E69F00";
pub const GREEN: &str = "#009E73";
pub const VERMILION: &str = "#D55E00";
pub const PURPLE: &str = "#CC79A7";
pub const SKY: &str = "#56B4E9";
pub const GREY: &str = "#7f7f7f";
/// Stall bands, by cause.
pub const BAND_RED: &str = "#D55E00";

#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub unit: Unit,
    /// Fixed ends; `None` follows the data.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Stretch the range to include 0 (rates, bytes: a reader assumes a zero baseline).
    pub zero: bool,
}

impl Axis {
    pub fn new(label: impl Into<String>, unit: Unit) -> Self {
        Self {
            label: label.into(),
            unit,
            min: None,
            max: None,
            zero: false,
        }
    }

    pub fn from_zero(mut self) -> Self {
        self.zero = true;
        self
    }

    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Line,
    Dashed,
    /// A line with its area down to the axis tinted.
    Area,
    /// Constant between consecutive x values, tinted: per-bucket values.
    Steps,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: String,
    pub style: Style,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(
        name: impl Into<String>,
        color: &str,
        style: Style,
        points: Vec<(f64, f64)>,
    ) -> Self {
        Self {
            name: name.into(),
            color: color.into(),
            style,
            points,
        }
    }

    pub fn line(name: impl Into<String>, color: &str, points: Vec<(f64, f64)>) -> Self {
        Self::new(name, color, Style::Line, points)
    }

    pub fn dashed(name: impl Into<String>, color: &str, points: Vec<(f64, f64)>) -> Self {
        Self::new(name, color, Style::Dashed, points)
    }

    pub fn area(name: impl Into<String>, color: &str, points: Vec<(f64, f64)>) -> Self {
        Self::new(name, color, Style::Area, points)
    }

    /// Buckets `(from, to, value)` drawn as flat steps.
    pub fn steps(name: impl Into<String>, color: &str, buckets: &[(f64, f64, f64)]) -> Self {
        let mut points = Vec::with_capacity(buckets.len() * 2);
        for &(from, to, v) in buckets {
            points.push((from, v));
            points.push((to, v));
        }
        Self::new(name, color, Style::Steps, points)
    }
}

/// A shaded x range (a stall), labelled at the top; the tooltip holds `detail`.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub label: String,
    pub detail: String,
    pub color: String,
}

impl Band {
    pub fn new(from: f64, to: f64, label: impl Into<String>) -> Self {
        Self {
            from,
            to,
            label: label.into(),
            detail: String::new(),
            color: BAND_RED.into(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// A horizontal reference line (e.g. speedup = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub y: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub rules: Vec<Rule>,
    /// Shown in the middle of the plot when there is nothing to draw.
    pub empty_note: String,
}

impl Chart {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            width: 1100,
            height: 280,
            x: Axis::new("", Unit::Number("")),
            y: Axis::new("", Unit::Number("")),
            series: Vec::new(),
            bands: Vec::new(),
            rules: Vec::new(),
            empty_note: "no data".into(),
        }
    }

    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width.max(200);
        self.height = height.max(120);
        self
    }

    pub fn x(mut self, axis: Axis) -> Self {
        self.x = axis;
        self
    }

    pub fn y(mut self, axis: Axis) -> Self {
        self.y = axis;
        self
    }

    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    pub fn band(mut self, b: Band) -> Self {
        self.bands.push(b);
        self
    }

    pub fn bands(mut self, bands: impl IntoIterator<Item = Band>) -> Self {
        self.bands.extend(bands);
        self
    }

    pub fn rule(mut self, y: f64, label: impl Into<String>) -> Self {
        self.rules.push(Rule {
            y,
            label: label.into(),
        });
        self
    }

    pub fn empty_note(mut self, note: impl Into<String>) -> Self {
        self.empty_note = note.into();
        self
    }

    /// The chart as a standalone `<svg>` element (inline in HTML or saved as a file).
    pub fn render(&self) -> String {
        draw::render(self)
    }
}

/// 1234567 → "1,234,567": heights are read by people comparing digits.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

#[cfg(test)]
mod tests;
