//! The load engine without the CLI, for benchmarks that must not wait for the whole
//! workspace to build: the same library call on the same runtime as `nodewarden loadtest`.
//!   cargo run --release -p nodewarden-load --example loadgen -- SCENARIO TARGET [JSON_OUT]
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [scenario, target, rest @ ..] = args.as_slice() else {
        eprintln!("usage: loadgen SCENARIO TARGET [JSON_OUT]");
        std::process::exit(2);
    };
    let s = match nodewarden_load::Scenario::from_file(Path::new(scenario)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = match rt.block_on(nodewarden_load::run(
        &s,
        target,
        None,
        "",
        &nodewarden_load::Stop::new(),
        &mut |_| {},
    )) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    };
    print!("{}", nodewarden_load::text::summary(&report));
    if let Some(out) = rest.first() {
        std::fs::write(out, serde_json::to_string_pretty(&report).expect("JSON")).expect("write");
    }
    std::process::exit(if report.passed() {
        0
    } else {
        nodewarden_load::EXIT_THRESHOLD
    });
}
