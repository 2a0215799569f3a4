use super::*;

fn chart() -> Chart {
    Chart::new("Height <& target>")
        .x(Axis::new("time since start", Unit::Seconds))
        .y(Axis::new("height", Unit::Count).from_zero())
        .band(Band::new(30.0, 60.0, "cpu").detail("stall at 600"))
        .series(Series::area(
            "current",
            GREEN,
            vec![
                (0.0, 0.0),
                (30.0, 600.0),
                (f64::NAN, f64::NAN),
                (90.0, 900.0),
                (120.0, 1200.0),
            ],
        ))
        .series(Series::dashed(
            "target",
            GREY,
            vec![(0.0, 3000.0), (120.0, 3000.0)],
        ))
        .rule(1000.0, "reference")
}

#[test]
fn renders_a_well_formed_svg_with_axes_legend_and_bands() {
    let svg = chart().render();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert!(svg.contains("Height &lt;&amp; target&gt;"), "title escaped");
    assert!(svg.contains(">current</text>") && svg.contains(">target</text>"));
    assert!(svg.contains("<title>stall at 600</title>"));
    assert!(svg.contains(">3,000</text>"), "y ticks labelled: {svg}");
    assert!(svg.contains(">1m</text>"), "x ticks as durations");
    // The NaN splits the area into two runs: two fills, two strokes, plus the target.
    assert_eq!(svg.matches("fill-opacity=\"0.2\"").count(), 2);
    assert!(!svg.contains("NaN"));
    assert_eq!(svg.matches("<g").count(), svg.matches("</g>").count());
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
}

#[test]
fn points_stay_inside_the_plot() {
    let svg = Chart::new("clamped")
        .size(400, 200)
        .y(Axis::new("y", Unit::Count).range(0.0, 10.0))
        .series(Series::line("s", BLUE, vec![(0.0, -50.0), (1.0, 500.0)]))
        .render();
    let path = svg
        .split("<path d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for num in path
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|t| t.parse::<f64>().ok())
    {
        assert!((0.0..=400.0).contains(&num), "{num} in {path}");
    }
}

#[test]
fn empty_and_degenerate_data_never_panic() {
    let empty = Chart::new("nothing").empty_note("no samples").render();
    assert!(empty.contains("no samples"));
    let one = Chart::new("one")
        .series(Series::line("p", BLUE, vec![(5.0, 5.0)]))
        .render();
    assert!(one.contains("<circle"));
    let steps = Series::steps("s", ORANGE, &[(0.0, 10.0, 1.0), (10.0, 20.0, 2.0)]);
    assert_eq!(steps.points.len(), 4);
    let inf = Chart::new("inf")
        .series(Series::line(
            "p",
            BLUE,
            vec![(f64::INFINITY, 1.0), (1.0, f64::NEG_INFINITY)],
        ))
        .render();
    assert!(inf.contains("no data"));
}
