//! The layering stated in `src/domain/mod.rs`, checked on the source: a domain context imports
//! only from itself and the contexts below it, and no domain code imports HTTP, auth, state or
//! configuration. A change that breaks it fails here rather than in a later tangle.

use std::path::{Path, PathBuf};

/// Each context and its rank: a module may import from contexts of a lower rank only.
const LAYERS: &[(&str, u8)] = &[
    ("money", 0),
    ("accounts", 1),
    ("trade", 2),
    ("insight", 3),
    ("aftersales", 3),
    ("support", 4),
];

/// What no domain module may name.
const FORBIDDEN: &[&str] = &[
    "actix_web",
    "crate::api",
    "crate::auth",
    "crate::state",
    "crate::config",
    "crate::jobs",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn rank(context: &str) -> Option<u8> {
    LAYERS.iter().find(|(c, _)| *c == context).map(|(_, r)| *r)
}

/// `(file, offending import)` for every import that climbs a layer or leaves the domain.
fn violations() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        // Code only: comments may name what the code must not use.
        let text: String = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let own = rel.split('/').next().and_then(rank);
        for bad in FORBIDDEN {
            if text.contains(bad) {
                found.push((rel.clone(), bad.to_string()));
            }
        }
        let Some(own) = own else { continue };
        for (i, _) in text.match_indices("crate::domain::") {
            let target: String = text[i + "crate::domain::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let same = rel.starts_with(&format!("{target}/"));
            if let Some(r) = rank(&target) {
                if !same && r >= own {
                    found.push((rel.clone(), format!("crate::domain::{target}")));
                }
            }
        }
    }
    found
}

#[test]
fn domain_contexts_import_only_downwards() {
    let found = violations();
    assert!(found.is_empty(), "layering broken: {found:#?}");
}

#[test]
fn the_guard_sees_every_context() {
    // A renamed folder would make the check above pass vacuously.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    for (context, _) in LAYERS {
        assert!(
            root.join(context).join("mod.rs").is_file(),
            "src/domain/{context}/mod.rs"
        );
    }
}
