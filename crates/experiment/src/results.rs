//! What an experiment leaves: the comparison as JSON and HTML, the samples CSV, a
//! shareable scrubbed bundle, and the verdict paragraph — all from the recording, so they
//! can be made again from a finished or interrupted run.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use nodewarden_analyze::{AnalyzeOptions, Comparison, Run, compare};
use nodewarden_record::Recording;
use nodewarden_report::{BundleInput, RunPass, compare_html, write_bundle};
use serde::Serialize;

use crate::ExperimentError;
use crate::plan::Plan;
use crate::race::RaceOutcome;

#[derive(Debug, Serialize)]
pub struct Results {
    pub verdict: String,
    pub race: Option<RaceOutcome>,
    pub comparison: Comparison,
    pub files: Vec<PathBuf>,
}

fn create(path: &Path) -> Result<Box<dyn Write + Send>, ExperimentError> {
    let f = File::create(path).map_err(|source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Box::new(BufWriter::new(f)))
}

/// Compares the two nodes of the experiment's run and writes every output file.
/// `probe_json`: a hardware probe to put in the bundle.
pub fn results(
    plan: &Plan,
    race: Option<RaceOutcome>,
    probe_json: Option<&str>,
) -> Result<Results, ExperimentError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExperimentError::Io { path, source }
    };
    let db = plan.output.join("experiment.db");
    let recording = Recording::open(&db).map_err(ExperimentError::Record)?;
    let run = recording
        .resolve(&plan.run_name)
        .map_err(ExperimentError::Record)?;
    let csv_path = plan.output.join("samples.csv");
    let scrubbed_path = plan.output.join(".bundle-samples.csv");
    let mut pass = RunPass::new(AnalyzeOptions::default(), true)
        .export_csv(create(&csv_path)?)
        .map_err(io(&csv_path))?
        .export_scrubbed_csv(create(&scrubbed_path)?)
        .map_err(io(&scrubbed_path))?;
    recording
        .for_each_sample(run.id, None, |s| pass.push(&s))
        .map_err(ExperimentError::Record)?;
    let result = pass
        .finish()
        .map_err(|e| ExperimentError::Output(e.to_string()))?;
    let find = |name: &str| {
        result
            .analyses
            .iter()
            .find(|a| a.node == name)
            .cloned()
            .ok_or_else(|| {
                ExperimentError::Output(format!(
                    "no samples of `{name}` in run `{}`",
                    plan.run_name
                ))
            })
    };
    let (a, b) = (find(&plan.a.name)?, find(&plan.b.name)?);
    let comparison = compare(
        &Run::new(plan.a.name.clone(), a.clone()),
        &Run::new(plan.b.name.clone(), b.clone()),
    );
    let verdict = crate::verdict::paragraph(&comparison);
    let version = env!("CARGO_PKG_VERSION");
    let html = compare_html(&comparison, &a, &b, version);
    let mut files = vec![csv_path];
    let write = |name: &str, text: &str| -> Result<PathBuf, ExperimentError> {
        let p = plan.output.join(name);
        std::fs::write(&p, text).map_err(io(&p))?;
        Ok(p)
    };
    files.push(write("comparison.html", &html)?);
    files.push(write("verdict.txt", &format!("{verdict}\n"))?);
    let doc = Results {
        verdict: verdict.clone(),
        race: race.clone(),
        comparison: comparison.clone(),
        files: Vec::new(),
    };
    files.push(write(
        "comparison.json",
        &serde_json::to_string_pretty(&doc).map_err(|e| ExperimentError::Output(e.to_string()))?,
    )?);
    // The bundle: scrubbed samples, the comparison page, the analyses, the probe.
    let bundle = plan.output.join("bundle.tar.zst");
    let samples = File::open(&scrubbed_path).map_err(io(&scrubbed_path))?;
    let len = samples.metadata().map_err(io(&scrubbed_path))?.len();
    let extra = [(
        "comparison.json".to_string(),
        serde_json::to_string_pretty(&comparison).unwrap_or_default(),
    )];
    let created_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let source = format!("experiment run {}", plan.run_name);
    let out = create(&bundle)?;
    write_bundle(
        out,
        &result,
        BundleInput {
            scrubbed_csv: samples,
            scrubbed_csv_len: len,
            html: &html,
            probe_json,
            source: &source,
            version,
            created_ms,
            extra: &extra,
        },
    )
    .and_then(|mut w| w.flush())
    .map_err(io(&bundle))?;
    let _ = std::fs::remove_file(&scrubbed_path);
    files.push(bundle);
    Ok(Results {
        verdict,
        race,
        comparison,
        files,
    })
}
