//! The router's route table and `specs/openapi.yaml` describe the same routes.

use std::collections::BTreeSet;

use urne_server::api::{routes, test_support_routes};

/// `(method, path)` of every operation in the OpenAPI file. The file keeps
/// the usual layout: `paths:` at column 0, paths at indent 2, operations at 4.
fn openapi_operations() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../specs/openapi.yaml"
    ))
    .expect("specs/openapi.yaml");
    let mut ops = BTreeSet::new();
    let mut in_paths = false;
    let mut path = None;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')) {
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&m) {
                let p = path.clone().expect("operation under a path");
                ops.insert((m.to_string(), p));
            }
        }
    }
    ops
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let router: BTreeSet<_> = routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let documented = openapi_operations();
    assert!(!documented.is_empty());
    let undocumented: Vec<_> = router.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&router).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "openapi.yaml routes the router lacks: {missing:?}"
    );
}

#[test]
fn test_support_routes_stay_out_of_the_public_description() {
    let documented = openapi_operations();
    for r in test_support_routes() {
        assert!(r.path.starts_with("/v1/test-support/"));
        assert!(!documented.contains(&(r.method.to_string(), r.path.to_string())));
    }
}
