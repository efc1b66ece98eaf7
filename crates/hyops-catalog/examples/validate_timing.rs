//! Times `validate` and `resolve_all` on a catalog: `cargo run --release --example validate_timing -- DIR [ENV]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().expect("usage: validate_timing DIR [ENV]"));
    let env = args.next().unwrap_or_else(|| "dev".to_string());
    if std::env::var_os("HYOPS_TIMING_PARTS").is_some() {
        let text = std::fs::read_to_string(root.join("modules/g000/m00000/module.yaml")).unwrap();
        let t = Instant::now();
        for _ in 0..10_000 {
            let _m: hyops_contract::Module =
                serde_saphyr::from_str_with_options(&text, hyops_catalog::yaml::parse_options())
                    .unwrap();
        }
        println!(
            "parse x10000 (one thread): {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        for (label, opts) in [
            ("default options", serde_saphyr::Options::default()),
            ("no budget", serde_saphyr::options! { budget: None }),
        ] {
            let t = Instant::now();
            for _ in 0..10_000 {
                let _m: hyops_contract::Module =
                    serde_saphyr::from_str_with_options(&text, opts.clone()).unwrap();
            }
            println!(
                "parse x10000 {label}: {:.1} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        let t = Instant::now();
        for _ in 0..10_000 {
            let _ = hyops_catalog::span_index::SpanIndex::build(&text);
        }
        println!(
            "span index x10000 (one thread): {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        for _ in 0..10_000 {
            let _m: serde_json::Value = serde_json::from_str(r#"{"apiVersion":"hyops/v1","kind":"Module","id":"g000/m00000","version":"1.0.0","description":"synthetic module 0","inputs":{"region":{"type":"string"},"size":{"type":"integer","minimum":1,"default":1},"name":{"type":"string","default":"m0"}},"execution":{"driver":"shell","profile":"shell-default","pack_ref":{"id":"noop@1"}},"outputs":{"publish":{"name":{"from":"name"}}},"probes":[{"name":"has-name","output":{"name":"name","matches":"^m"}}]}"#).unwrap();
        }
        println!(
            "same as JSON x10000: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let t = Instant::now();
    let loaded = hyops_catalog::load(&root);
    println!("load: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let (catalog, report) = hyops_catalog::check(loaded);
    let validate = t.elapsed();
    println!(
        "validate: {} in {:.1} ms",
        report.summary(),
        validate.as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let all = hyops_catalog::resolve_all(&catalog, &env, &hyops_catalog::Overrides::default());
    let ok = all.iter().filter(|(_, r)| r.is_ok()).count();
    println!(
        "resolve_all: {ok}/{} ok in {:.1} ms",
        all.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
}
