//! The crate's layering, held by a test: no two top-level modules depend on
//! each other, directly or through others, and only `edge/` (with the test
//! support built for it) speaks `lambda_http`. A module's dependencies are
//! the `crate::` paths of its code, comments and tests left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Modules outside the layering: the crate root, and code only tests build.
const OUTSIDE: [&str; 4] = ["lib", "layout_tests", "property_tests", "test_support"];

/// Each top-level module, and the top-level modules its code names.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::<String, BTreeSet<String>>::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap();
            let top = relative.components().next().unwrap().as_os_str().to_str().unwrap().trim_end_matches(".rs");
            if path.extension().is_none_or(|ext| ext != "rs") || OUTSIDE.contains(&top) || top == "bin" {
                continue;
            }
            let used = found.entry(top.to_owned()).or_default();
            for name in crate_paths(&std::fs::read_to_string(&path).unwrap()) {
                if name != top {
                    used.insert(name);
                }
            }
        }
    }
    found
}

/// The modules a file's code names as `crate::module` (`crate::ApiError`
/// is the error module's); its tests and comments left out.
fn crate_paths(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    let lines = code.lines().filter(|line| !line.trim_start().starts_with("//"));
    let mut names = Vec::new();
    for line in lines {
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            // `crate::{a, b::C}` names each of its members.
            let members = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
                None => vec![rest],
            };
            for member in members {
                let name: String = member.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                match name.as_str() {
                    "ApiError" => names.push("error".to_owned()),
                    _ if name.starts_with(|c: char| c.is_ascii_lowercase()) => names.push(name),
                    _ => {}
                }
            }
        }
    }
    names
}

fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let (mut seen, mut pending) = (BTreeSet::new(), vec![from.to_owned()]);
    while let Some(module) = pending.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                pending.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn no_two_modules_depend_on_each_other() {
    let graph = dependencies();
    assert!(graph.contains_key("store") && graph["lockout"].contains("store"), "the scan found the modules");
    let cycles: Vec<_> = graph
        .iter()
        .flat_map(|(module, used)| used.iter().map(move |other| (module, other)))
        .filter(|(module, other)| reaches(&graph, other, module))
        .collect();
    assert!(cycles.is_empty(), "modules that depend on each other: {cycles:?}");
}

#[test]
fn only_the_edge_speaks_lambda_http() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut speakers = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for path in std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()) {
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read_to_string(&path).unwrap().contains("lambda_http") {
                speakers.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    let outside: Vec<_> = speakers
        .iter()
        .filter(|path| !path.starts_with("edge/") && !OUTSIDE.iter().any(|module| **path == format!("{module}.rs")))
        .collect();
    assert!(outside.is_empty(), "lambda_http outside edge/: {outside:?}");
    assert!(speakers.iter().any(|path| path.starts_with("edge/")), "the scan found the edge");
}

#[test]
fn a_cycle_is_found() {
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert!(reaches(&graph, "b", "a"));
    assert!(!reaches(&BTreeMap::from([("a".to_owned(), BTreeSet::from(["b".to_owned()]))]), "b", "a"));
    let names = crate_paths("use crate::store::X;\n// crate::edge\nfn f() -> crate::ApiError {}\nuse crate::BoxError;");
    assert_eq!(names, ["store", "error"]);
    assert_eq!(crate_paths("use crate::{config::Env, BoxError, domain};"), ["config", "domain"]);
}
