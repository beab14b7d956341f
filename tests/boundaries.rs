//! The module boundaries hold (issue 16): the top-level modules of `src/` import each other
//! without cycles, and only the application's top (`config` itself, `service`, `cmd`) reads the
//! aggregate configuration; every other module owns its own `[section]` type. Test code is not
//! counted (a test may use anything), so each file is read up to its `#[cfg(test)]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, BTreeSet<String>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".rs") || name == "tests.rs" || name.ends_with("_tests.rs") {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if top == "main" || top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let deps = out.entry(top.clone()).or_default();
            for line in code.lines().map(|l| l.split("//").next().unwrap_or_default()) {
                for part in line.split("crate::").skip(1) {
                    let module: String =
                        part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if !module.is_empty() && module != top {
                        deps.insert(module);
                    }
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

#[test]
fn the_modules_import_each_other_without_cycles() {
    let graph = imports();
    assert!(
        graph.len() > 10 && graph["service"].contains("pipeline"),
        "the scan found the modules: {graph:?}"
    );
    // Depth-first search for a path from each module back to itself.
    fn path_back(
        graph: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        for next in graph.get(from).into_iter().flatten() {
            if next == to {
                return Some(vec![next.clone()]);
            }
            if seen.insert(next.clone())
                && let Some(mut p) = path_back(graph, next, to, seen)
            {
                p.insert(0, next.clone());
                return Some(p);
            }
        }
        None
    }
    for module in graph.keys() {
        if let Some(cycle) = path_back(&graph, module, module, &mut BTreeSet::new()) {
            panic!("import cycle: {module} → {}", cycle.join(" → "));
        }
    }
}

#[test]
fn only_the_application_reads_the_aggregate_configuration() {
    let readers: Vec<String> =
        imports().into_iter().filter(|(_, deps)| deps.contains("config")).map(|(m, _)| m).collect();
    assert_eq!(readers, ["cmd", "service"], "modules own their [section] types; config only aggregates them");
}
