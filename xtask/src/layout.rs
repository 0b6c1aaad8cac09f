//! Checks of the code's shape that run with the tests: no import cycle between the modules of
//! a crate, and no source file over 800 lines without a stated reason (docs/architecture.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source trees of every crate.
pub fn source_trees(root: &Path) -> Vec<PathBuf> {
    let mut trees = vec![
        root.join("src-tauri/src"),
        root.join("xtask/src"),
        root.join("tests/src"),
    ];
    if let Ok(dirs) = std::fs::read_dir(root.join("crates")) {
        let mut crates: Vec<PathBuf> = dirs.flatten().map(|d| d.path().join("src")).collect();
        crates.sort();
        trees.extend(crates.into_iter().filter(|p| p.is_dir()));
    }
    trees
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Which top-level modules each top-level module of a crate names with `crate::`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let Ok(rel) = f.strip_prefix(src) else {
            continue;
        };
        let Some(first) = rel.components().next() else {
            continue;
        };
        let top = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" || top == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let deps = graph.entry(top.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    deps.insert(name);
                }
            }
        }
    }
    // Only edges between modules of this crate (`crate::Engine` names a re-export at the root).
    let names: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| names.contains(d));
    }
    graph
}

/// A cycle among the modules, if there is one (as the path that closes it).
pub fn import_cycle(src: &Path) -> Option<Vec<String>> {
    let graph = module_graph(src);
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        for d in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, &graph, &mut Vec::new(), &mut done))
}

/// The line that states why a file is longer than [`MAX_LINES`].
pub const LONG_FILE_REASON: &str = "Longer than 800 lines because";
pub const MAX_LINES: usize = 800;

/// Source files (tests included) over [`MAX_LINES`] that do not say why near their top.
pub fn long_files(root: &Path) -> Vec<(PathBuf, usize)> {
    let mut files = Vec::new();
    for tree in source_trees(root) {
        rust_files(&tree, &mut files);
        if let Some(parent) = tree.parent() {
            rust_files(&parent.join("tests"), &mut files);
        }
    }
    files.sort();
    files.dedup();
    files
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            let lines = text.lines().count();
            let explained = text.lines().take(40).any(|l| l.contains(LONG_FILE_REASON));
            (lines > MAX_LINES && !explained).then_some((f, lines))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn no_crate_has_an_import_cycle_between_its_modules() {
        let trees = source_trees(&root());
        assert!(trees.len() > 5, "{trees:?}");
        for tree in trees {
            if let Some(cycle) = import_cycle(&tree) {
                panic!("{}: {}", tree.display(), cycle.join(" → "));
            }
        }
    }

    #[test]
    fn the_cycle_check_finds_a_cycle() {
        let dir = std::env::temp_dir().join(format!("layout-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::write(
            dir.join("a.rs"),
            "use crate::b::X; // crate::c is a comment\n",
        )
        .unwrap();
        std::fs::write(dir.join("b/mod.rs"), "fn f() { crate::a::y() }\n").unwrap();
        std::fs::write(dir.join("c.rs"), "use crate::a::Y;\n").unwrap();
        let cycle = import_cycle(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(cycle, Some(vec!["a".into(), "b".into(), "a".into()]));
    }

    #[test]
    fn no_source_file_is_over_800_lines_without_a_reason() {
        let long = long_files(&root());
        assert!(
            long.is_empty(),
            "split these or say why near the top (\"{LONG_FILE_REASON} …\"): {long:?}"
        );
    }
}
