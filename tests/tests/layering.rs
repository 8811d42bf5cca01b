//! The engine's modules import each other one way: no module reaches,
//! directly or through others, back to itself. Read from the sources'
//! `crate::` and `super::` paths (test modules excluded), so a new import
//! that closes a circle fails here, with the circle named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module name of a source file under `src/`: `fast/exec.rs` is
/// `fast::exec`, `fast/mod.rs` is `fast`.
fn module_of(rel: &Path) -> String {
    let s = rel.with_extension("").to_string_lossy().replace('/', "::");
    s.strip_suffix("::mod").unwrap_or(&s).to_string()
}

/// The module a path `a::b::...` (after `crate::`) names: the longest
/// prefix that is a module.
fn target(modules: &BTreeSet<String>, path: &[&str]) -> Option<String> {
    (1..=path.len().min(2))
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

/// Every `crate::x::y` and `super::y` path in `text`, as segments.
fn paths(text: &str, this: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let parent: Vec<&str> = {
        let mut p: Vec<&str> = this.split("::").collect();
        p.pop();
        p
    };
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent)] {
        for (i, _) in text.match_indices(prefix) {
            let before = text[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &text[i + prefix.len()..];
            let segs: Vec<String> = rest
                .split("::")
                .take(2)
                .map(|s| {
                    s.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect()
                })
                .take_while(|s: &String| !s.is_empty())
                .collect();
            let mut full: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            full.extend(segs);
            out.push(full);
        }
    }
    out
}

/// The module graph of the crate whose sources are in `src`: for each
/// module, the modules it names, without its test module and comments.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(src).unwrap()))
        .collect();
    let mut g = Graph::new();
    for f in &files {
        let this = module_of(f.strip_prefix(src).unwrap());
        if this == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let code: String = code
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let deps = g.entry(this.clone()).or_default();
        for p in paths(&code, &this) {
            let segs: Vec<&str> = p.iter().map(String::as_str).collect();
            if let Some(t) = target(&modules, &segs) {
                // A module's own children are its implementation.
                if t != this && !t.starts_with(&format!("{this}::")) {
                    deps.insert(t);
                }
            }
        }
    }
    g
}

/// The circles of `g`: its strongly connected components of more than one
/// module (Tarjan's algorithm), each sorted.
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct S<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut c = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                c.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                c.sort();
                s.out.push(c);
            }
        }
    }
    let mut s = S {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_engine_has_no_import_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/src");
    let g = graph(&src);
    assert!(g.contains_key("fast::translate") && g.contains_key("instance"));
    let found = circles(&g);
    assert!(found.is_empty(), "import circles: {found:?}\ngraph: {g:#?}");
}

/// Positive control: a circle, direct or through a third module, is found.
#[test]
fn a_circle_is_found() {
    let mut g = Graph::new();
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into()).or_default().insert(b.into());
    };
    edge(&mut g, "a", "b");
    edge(&mut g, "b", "c");
    assert!(circles(&g).is_empty());
    edge(&mut g, "c", "a");
    edge(&mut g, "d", "a");
    assert_eq!(circles(&g), [["a", "b", "c"]]);
    let paths = paths("use crate::fast::exec;\nuse super::op::Op;", "fast::reads");
    assert_eq!(paths, [vec!["fast", "exec"], vec!["fast", "op", "Op"]]);
}
