//! The parallel CSV analysis against a sequential read of the same bytes: several chunks,
//! two nodes, a quoted multi-line node name past the first chunk, and an error whose line
//! number must still be the file's.
use nodewarden_analyze::synth::{Phase, Profile, generate};
use nodewarden_analyze::{AnalyzeOptions, Sample, analyze, analyze_csv, read_csv, write_csv};

fn samples() -> Vec<Sample> {
    let profile = |name: &str, rate: f64| {
        let mut p = Profile::new(name, 200_000, vec![Phase::constant(200_001, rate)]);
        p.interval_ms = 1_000;
        p.noise = 0.2;
        p
    };
    let a: Vec<Sample> = generate(profile("znn-a", 10.0)).take(25_000).collect();
    let mut b: Vec<Sample> = generate(profile("znn-b", 7.0)).take(25_000).collect();
    // A name that needs quoting (comma, quote, newline) deep inside the file.
    for s in &mut b[15_000..15_010] {
        s.node = "znn \"b\",\nquoted".into();
    }
    let mut all: Vec<Sample> = a.into_iter().chain(b).collect();
    all.sort_by_key(|s| s.t_ms);
    all
}

#[test]
fn chunks_in_parallel_give_the_sequential_result() {
    let all = samples();
    let bytes = write_csv(Vec::new(), &all).unwrap();
    assert!(
        bytes.len() > 6 << 20,
        "spans several 1 MiB chunks: {}",
        bytes.len()
    );
    let opts = AnalyzeOptions::default();
    let parallel = analyze_csv(&bytes[..], &opts).unwrap();
    let sequential = analyze(
        read_csv(&bytes[..]).unwrap().map(|s| {
            let mut s = s.unwrap();
            // analyze_csv never reads head hashes; nor does the analysis.
            s.head_hash = None;
            s
        }),
        &opts,
    );
    assert_eq!(parallel.len(), 3);
    assert_eq!(parallel, sequential);
}

#[test]
fn an_error_far_into_the_file_names_its_line() {
    let all = samples();
    let text = String::from_utf8(write_csv(Vec::new(), &all).unwrap()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Physical line numbers: the quoted names span two lines each.
    let bad = lines.len() - 3_000;
    lines[bad] = lines[bad].replacen("syncing", "bogus", 1);
    let broken = lines.join("\n") + "\n";
    let err = analyze_csv(broken.as_bytes(), &AnalyzeOptions::default()).unwrap_err();
    assert_eq!(err.line(), Some(bad as u64 + 1), "{err}");
    assert!(err.to_string().contains("state"), "{err}");
}
