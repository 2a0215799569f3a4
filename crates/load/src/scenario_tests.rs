use super::*;

fn err(text: &str) -> String {
    Scenario::from_toml_str(text, "s.toml")
        .unwrap_err()
        .to_string()
}

const OK: &str = r#"
target = "http://127.0.0.1:35997"
rate = 50
duration = "2s"
thresholds = ["p95 < 200ms", "errors < 1%"]

[[request]]
method = "stats.syncInfo"
weight = 3

[[request]]
method = "ledger.getMomentumsByHeight"
params = [{ range = [1, 100] }, 10]
"#;

#[test]
fn a_minimal_scenario_parses_with_defaults() {
    let s = Scenario::from_toml_str(OK, "s.toml").unwrap();
    assert_eq!(
        s.executor,
        Executor::ConstantArrivalRate {
            rate: 50.0,
            duration: Duration::from_secs(2)
        }
    );
    assert_eq!(s.timeout, Duration::from_secs(10));
    assert_eq!(s.batch, 1);
    assert_eq!(s.requests.len(), 2);
    assert_eq!(s.requests[0].weight, 3.0);
    assert_eq!(s.thresholds.len(), 2);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["executor"], "constant-arrival-rate");
    assert_eq!(json["thresholds"][0], "p95 < 200ms");
}

#[test]
fn errors_name_line_and_key() {
    let e = err(
        "rate = 5\nduration = \"1s\"\nthresholds = [\"p95 < fast\"]\n[[request]]\nmethod = \"x\"\n",
    );
    assert!(
        e.starts_with("scenario s.toml:3: key `thresholds[0]`"),
        "{e}"
    );
    let e = err("rate = 5\nduration = \"1s\"\n[[request]]\nmethod = \"x\"\nwieght = 2\n");
    assert!(e.contains("s.toml:5") && e.contains("wieght"), "{e}");
    let e = err("rate = 5\nduration = \"soon\"\n[[request]]\nmethod = \"x\"\n");
    assert!(e.contains("s.toml:2") && e.contains("duration"), "{e}");
    let e = err(
        "rate = 5\nduration = \"1s\"\n[[request]]\nmethod = \"x\"\n[[request]]\nmethod = \"y\"\nparams = [{ range = [9, 1] }]\n",
    );
    assert!(
        e.contains("s.toml:7") && e.contains("request[1].params[0].range"),
        "{e}"
    );
    let e = err("executor = \"constant-vus\"\nduration = \"1s\"\n[[request]]\nmethod = \"x\"\n");
    assert!(e.contains("key `vus`") && e.contains("required"), "{e}");
    let e = err("rate = 5\nduration = \"1s\"\n");
    assert!(e.contains("key `request`"), "{e}");
    let e = err("executor = \"closed\"\n");
    assert!(e.contains("s.toml:1") && e.contains("executor"), "{e}");
    let e =
        err("target = \"https://x\"\nrate = 5\nduration = \"1s\"\n[[request]]\nmethod = \"x\"\n");
    assert!(e.contains("s.toml:1") && e.contains("https"), "{e}");
    let e = err(
        "rate = 5\nduration = \"1s\"\nthresholds = [\"eth_call: p95 < 1s\"]\n[[request]]\nmethod = \"x\"\n",
    );
    assert!(e.contains("no [[request]] is named `eth_call`"), "{e}");
}

#[test]
fn ramping_and_vus() {
    let s = Scenario::from_toml_str(
        "executor = \"ramping-arrival-rate\"\nstart_rate = 10\nstages = [{ duration = \"5s\", target = 100 }, { duration = 3, target = 0 }]\n[[request]]\nmethod = \"eth_blockNumber\"\n",
        "r.toml",
    )
    .unwrap();
    assert_eq!(s.executor.duration(), Duration::from_secs(8));
    assert_eq!(s.executor.peak_rate(), Some(100.0));
    let s = Scenario::from_toml_str(
        "executor = \"constant-vus\"\nvus = 4\nduration = \"1s\"\n[[request]]\nmethod = \"eth_blockNumber\"\n",
        "v.toml",
    )
    .unwrap();
    assert_eq!(s.executor.peak_rate(), None);
}
