//! Which crates one package compiles in. `cargo metadata` resolves the
//! whole workspace at once, so its graph holds the optional dependencies
//! any member's features turn on (e.g. `indexmap` through another member's
//! `toml` features); `cargo build -p outpost-agent` builds fewer. This
//! replays cargo's feature activation from the one package, over the edges
//! cargo's resolve already has for the platform: it can only drop edges,
//! never invent one. Build and dev dependencies are not followed (they are
//! not linked into the binary).

use std::collections::{BTreeMap, BTreeSet};

use super::metadata::{Declared, Metadata, NodeDep, Package};

/// One triple's `cargo metadata`, indexed.
pub struct Graph {
    pub packages: BTreeMap<String, Package>,
    nodes: BTreeMap<String, Vec<NodeDep>>,
}

impl Graph {
    pub fn new(m: Metadata) -> Graph {
        let nodes = m.resolve.map(|r| r.nodes).unwrap_or_default();
        Graph {
            packages: m.packages.into_iter().map(|p| (p.id.clone(), p)).collect(),
            nodes: nodes.into_iter().map(|n| (n.id, n.deps)).collect(),
        }
    }

    /// The workspace package named `name`, if the resolve holds it.
    pub fn package_id(&self, name: &str) -> Option<&str> {
        self.packages.values().find(|p| p.name == name && p.source.is_none()).map(|p| p.id.as_str())
    }

    /// The packages a declaration of `id` resolved to on this platform: the
    /// resolve's edges to a package of that name, as a normal dependency
    /// under the declaration's own `[target]` table, named by its rename
    /// when it has one (a package may depend on two versions, renamed).
    fn resolved(&self, id: &str, d: &Declared) -> Vec<&str> {
        let pkg = &self.packages[id];
        let renames: BTreeSet<String> = pkg.dependencies.iter().filter_map(|d| d.rename.as_ref()).map(|r| r.replace('-', "_")).collect();
        let Some(edges) = self.nodes.get(id) else { return Vec::new() };
        edges
            .iter()
            .filter(|e| self.packages.get(&e.pkg).is_some_and(|p| p.name == d.name))
            .filter(|e| e.dep_kinds.iter().any(|k| k.kind.is_none() && k.target == d.target))
            .filter(|e| match &d.rename {
                Some(r) => e.name == r.replace('-', "_"),
                None => !renames.contains(&e.name),
            })
            .map(|e| e.pkg.as_str())
            .collect()
    }
}

/// Every package `root` compiles in (itself included) with its default
/// features, each with the packages it depends on.
pub fn compiled_in<'g>(g: &'g Graph, root: &'g str) -> BTreeMap<&'g str, BTreeSet<&'g str>> {
    let mut s = State { g, features: BTreeMap::new(), deps_on: BTreeMap::new(), dep_features: BTreeMap::new(), edges: BTreeMap::new(), changed: false };
    s.edges.insert(root, BTreeSet::new());
    s.feature(root, "default");
    // Every step only adds; a weak `dep?/feature` waits for its dependency,
    // so repeat until nothing more is turned on.
    loop {
        s.changed = false;
        let active: Vec<&str> = s.edges.keys().copied().collect();
        for id in active {
            s.expand_features(id);
            s.follow_dependencies(id);
        }
        if !s.changed {
            return s.edges;
        }
    }
}

struct State<'g> {
    g: &'g Graph,
    /// The features turned on, per package.
    features: BTreeMap<&'g str, BTreeSet<String>>,
    /// The optional dependencies turned on, per package, by their key.
    deps_on: BTreeMap<&'g str, BTreeSet<String>>,
    /// Features asked of a dependency (`dep/feature`, `dep?/feature`).
    dep_features: BTreeMap<(&'g str, String), BTreeSet<String>>,
    edges: BTreeMap<&'g str, BTreeSet<&'g str>>,
    changed: bool,
}

impl<'g> State<'g> {
    fn feature(&mut self, id: &'g str, f: &str) {
        self.changed |= self.features.entry(id).or_default().insert(f.to_string());
    }

    fn optional_dep(&mut self, id: &'g str, key: &str) {
        if self.g.packages[id].dependencies.iter().any(|d| d.optional && d.key() == key) {
            self.changed |= self.deps_on.entry(id).or_default().insert(key.to_string());
        }
    }

    fn expand_features(&mut self, id: &'g str) {
        let on: Vec<String> = self.features.get(id).map(|f| f.iter().cloned().collect()).unwrap_or_default();
        let pkg = &self.g.packages[id];
        for f in on {
            match pkg.features.get(&f) {
                Some(items) => items.iter().for_each(|item| self.item(id, item)),
                // An optional dependency is a feature of its own name unless
                // the package names it only as `dep:`.
                None => self.optional_dep(id, &f),
            }
        }
    }

    /// One value of a `[features]` entry.
    fn item(&mut self, id: &'g str, item: &str) {
        if let Some(key) = item.strip_prefix("dep:") {
            self.optional_dep(id, key);
        } else if let Some((dep, f)) = item.split_once('/') {
            let (dep, weak) = dep.strip_suffix('?').map_or((dep, false), |d| (d, true));
            if !weak {
                self.optional_dep(id, dep);
            }
            self.changed |= self.dep_features.entry((id, dep.to_string())).or_default().insert(f.to_string());
        } else if self.g.packages[id].features.contains_key(item) {
            self.feature(id, item);
        } else {
            self.optional_dep(id, item);
        }
    }

    fn follow_dependencies(&mut self, id: &'g str) {
        let g = self.g;
        for d in g.packages[id].dependencies.iter().filter(|d| d.is_normal()) {
            if d.optional && !self.deps_on.get(id).is_some_and(|on| on.contains(d.key())) {
                continue;
            }
            let asked: Vec<String> = self.dep_features.get(&(id, d.key().to_string())).map(|f| f.iter().cloned().collect()).unwrap_or_default();
            for dep in g.resolved(id, d) {
                self.changed |= self.edges.entry(id).or_default().insert(dep);
                self.edges.entry(dep).or_default();
                for f in d.features.iter().chain(&asked) {
                    self.feature(dep, f);
                }
                if d.uses_default_features {
                    self.feature(dep, "default");
                }
            }
        }
    }
}
