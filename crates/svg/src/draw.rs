//! Layout and drawing of one chart. Coordinates are clamped to the plot instead of using
//! clip paths, so many charts can share a page without unique element ids.

use std::fmt::Write;

use super::axis::{Scale, label, scale};
use super::{Chart, Style, escape};

const LEFT: f64 = 76.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 46.0;
const FONT: &str = "font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\"";

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    xs: Scale,
    ys: Scale,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        let f = (x - self.xs.lo) / (self.xs.hi - self.xs.lo);
        (self.x0 + f * (self.x1 - self.x0)).clamp(self.x0, self.x1)
    }

    fn py(&self, y: f64) -> f64 {
        let f = (y - self.ys.lo) / (self.ys.hi - self.ys.lo);
        (self.y1 - f * (self.y1 - self.y0)).clamp(self.y0, self.y1)
    }
}

fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

pub(super) fn render(c: &Chart) -> String {
    let (w, h) = (f64::from(c.width), f64::from(c.height));
    let pts = || c.series.iter().flat_map(|s| s.points.iter());
    let drawable = pts().any(|p| p.0.is_finite() && p.1.is_finite());
    let xe = extent(
        pts()
            .filter(|p| p.1.is_finite())
            .map(|p| p.0)
            .chain(c.bands.iter().flat_map(|b| [b.from, b.to])),
    )
    .unwrap_or((0.0, 1.0));
    let ye = extent(
        pts()
            .map(|p| p.1)
            .chain(c.rules.iter().map(|r| r.y))
            .chain(c.y.zero.then_some(0.0)),
    )
    .unwrap_or((0.0, 1.0));
    let xlo = c.x.min.unwrap_or(xe.0);
    let xhi = c.x.max.unwrap_or(xe.1);
    let ylo = c.y.min.unwrap_or(ye.0);
    let yhi = c.y.max.unwrap_or(ye.1);
    let ticks_x = ((w - LEFT - RIGHT) / 110.0).clamp(2.0, 12.0) as usize;
    let ticks_y = ((h - TOP - BOTTOM) / 45.0).clamp(2.0, 8.0) as usize;
    let f = Frame {
        x0: LEFT,
        x1: w - RIGHT,
        y0: TOP,
        y1: h - BOTTOM,
        xs: scale(xlo, xhi, &c.x.unit, ticks_x, false),
        ys: scale(ylo, yhi, &c.y.unit, ticks_y, true),
    };
    let mut s = String::with_capacity(8192);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\" {FONT} font-size=\"12\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"15\" font-weight=\"600\" fill=\"#222\">{t}</text>",
        t = escape(&c.title)
    );
    legend(&mut s, c);
    bands(&mut s, c, &f);
    grid(&mut s, c, &f);
    if drawable {
        for series in &c.series {
            draw_series(&mut s, series, &f);
        }
    } else {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#888\">{}</text>",
            (f.x0 + f.x1) / 2.0,
            (f.y0 + f.y1) / 2.0,
            escape(&c.empty_note)
        );
    }
    for r in &c.rules {
        let y = f.py(r.y);
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#444\" \
             stroke-dasharray=\"5 4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" \
             fill=\"#444\" font-size=\"11\">{}</text>",
            f.x0,
            f.x1,
            f.x1 - 4.0,
            y - 4.0,
            escape(&r.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// One row under the title: a swatch and the name of each series, then the band colour.
fn legend(s: &mut String, c: &Chart) {
    let mut x = LEFT;
    let y = 38.0;
    for series in c.series.iter().filter(|x| !x.name.is_empty()) {
        let dash = if series.style == Style::Dashed {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" \
             stroke-width=\"3\"{dash}/><text x=\"{:.1}\" y=\"{y:.1}\" fill=\"#333\">{}</text>",
            x + 18.0,
            y - 4.0,
            y - 4.0,
            escape(&series.color),
            x + 23.0,
            escape(&series.name)
        );
        x += 23.0 + text_width(&series.name, 12.0) + 18.0;
    }
    if let Some(b) = c.bands.first() {
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"16\" height=\"11\" fill=\"{}\" \
             fill-opacity=\"0.18\" stroke=\"{}\" stroke-opacity=\"0.5\"/>\
             <text x=\"{:.1}\" y=\"{y:.1}\" fill=\"#333\">stall</text>",
            y - 10.0,
            escape(&b.color),
            escape(&b.color),
            x + 21.0
        );
    }
}

/// Rough advance width of sans-serif text; enough to space legend entries.
fn text_width(t: &str, size: f64) -> f64 {
    t.chars().count() as f64 * size * 0.58
}

fn grid(s: &mut String, c: &Chart, f: &Frame) {
    s.push_str("<g stroke=\"#e6e6e6\" stroke-width=\"1\">");
    for &t in &f.ys.ticks {
        let y = f.py(t);
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>",
            f.x0, f.x1
        );
    }
    for &t in &f.xs.ticks {
        let x = f.px(t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            f.y0, f.y1
        );
    }
    s.push_str("</g>");
    let _ = write!(
        s,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" \
         stroke=\"#bbb\"/>",
        f.x0,
        f.y0,
        f.x1 - f.x0,
        f.y1 - f.y0
    );
    s.push_str("<g fill=\"#555\" font-size=\"11\">");
    for &t in &f.ys.ticks {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            f.x0 - 6.0,
            f.py(t) + 4.0,
            escape(&label(t, &c.y.unit))
        );
    }
    for &t in &f.xs.ticks {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            f.px(t),
            f.y1 + 16.0,
            escape(&label(t, &c.x.unit))
        );
    }
    s.push_str("</g>");
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text>\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" \
         fill=\"#333\">{}</text>",
        (f.x0 + f.x1) / 2.0,
        f.y1 + 36.0,
        escape(&c.x.label),
        (f.y0 + f.y1) / 2.0,
        escape(&c.y.label)
    );
}

fn bands(s: &mut String, c: &Chart, f: &Frame) {
    for b in &c.bands {
        let (a, z) = (f.px(b.from), f.px(b.to));
        // A stall shorter than a pixel must still be visible.
        let width = (z - a).max(2.0);
        let _ = write!(
            s,
            "<g><title>{}</title><rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{width:.1}\" \
             height=\"{:.1}\" fill=\"{}\" fill-opacity=\"0.16\"/>",
            escape(if b.detail.is_empty() {
                &b.label
            } else {
                &b.detail
            }),
            f.y0,
            f.y1 - f.y0,
            escape(&b.color)
        );
        if !b.label.is_empty() {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\" font-size=\"11\" \
                 font-weight=\"600\">{}</text>",
                a + 3.0,
                f.y0 + 13.0,
                escape(&b.color),
                escape(&b.label)
            );
        }
        s.push_str("</g>");
    }
}

/// Runs of consecutive finite points: a NaN ends one run.
fn runs(points: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
    points
        .split(|p| !(p.0.is_finite() && p.1.is_finite()))
        .filter(|r| !r.is_empty())
        .collect()
}

fn draw_series(s: &mut String, series: &super::Series, f: &Frame) {
    let color = escape(&series.color);
    let base = f.py(0f64.clamp(f.ys.lo, f.ys.hi));
    for run in runs(&series.points) {
        let mut d = String::with_capacity(run.len() * 14);
        for (i, &(x, y)) in run.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                f.px(x),
                f.py(y)
            );
        }
        if matches!(series.style, Style::Area | Style::Steps) {
            let (first, last) = (run[0].0, run[run.len() - 1].0);
            let _ = write!(
                s,
                "<path d=\"{d}L{:.1},{base:.1}L{:.1},{base:.1}Z\" fill=\"{color}\" \
                 fill-opacity=\"0.2\" stroke=\"none\"/>",
                f.px(last),
                f.px(first)
            );
        }
        let dash = if series.style == Style::Dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        if run.len() == 1 {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{color}\"/>",
                f.px(run[0].0),
                f.py(run[0].1)
            );
        } else {
            let _ = write!(
                s,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" \
                 stroke-linejoin=\"round\"{dash}/>"
            );
        }
    }
}
