//! A stack's member graph must be acyclic: every independent cycle is found (one per strongly
//! connected component) and reported as its shortest loop, `a -> b -> a`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::algo::kosaraju_scc;
use petgraph::graphmap::DiGraphMap;

/// One cycle per strongly connected component that has one (several members, or a member that
/// depends on itself), so independent cycles are all reported at once. Each is the shortest from
/// the component's first member by name back to it; components in that member's order.
/// Kosaraju's algorithm, not Tarjan's: petgraph's Tarjan recurses once per member on a path, which
/// overflowed the catalog loader's thread on an 8,000-member cycle; its Kosaraju walks iteratively.
pub(super) fn find_cycles<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut graph = DiGraphMap::<&str, ()>::new();
    for (&from, deps) in edges {
        graph.add_node(from);
        for &to in deps {
            graph.add_edge(from, to, ());
        }
    }
    let mut cycles: Vec<Vec<&str>> = kosaraju_scc(&graph)
        .into_iter()
        .filter_map(|component| {
            let start = component.iter().copied().min()?;
            let looped = component.len() > 1 || edges.get(start).is_some_and(|d| d.contains(start));
            let inside: BTreeSet<&str> = component.into_iter().collect();
            looped.then(|| shortest_cycle(start, &inside, edges))
        })
        .collect();
    cycles.sort();
    cycles
}

/// `a -> b -> a`; a cycle of more than 12 members keeps its first 8 and last 3 around a count.
pub(super) fn cycle_text(cycle: &[&str]) -> String {
    if cycle.len() <= 12 {
        return cycle.join(" -> ");
    }
    let (head, tail) = (&cycle[..8], &cycle[cycle.len() - 3..]);
    format!(
        "{} -> … {} more … -> {} ({} members)",
        head.join(" -> "),
        cycle.len() - 11,
        tail.join(" -> "),
        cycle.len() - 1
    )
}

/// Breadth-first from `start` within `inside` until an edge leads back to `start`.
fn shortest_cycle<'a>(
    start: &'a str,
    inside: &BTreeSet<&'a str>,
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
) -> Vec<&'a str> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for &next in edges.get(n).into_iter().flatten() {
            if next == start {
                // n, its parent, ... up to start (which has none), then turned around.
                let mut path = vec![n];
                let mut at = n;
                while let Some(&p) = parent.get(at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if next != start && inside.contains(next) && !parent.contains_key(next) {
                parent.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph<'a>(edges: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
        let mut e: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for &(from, to) in edges {
            e.entry(from).or_default().insert(to);
            e.entry(to).or_default();
        }
        e
    }

    #[test]
    fn finds_cycles_deterministically() {
        let mut e = graph(&[("a", "b"), ("b", "c"), ("c", "a")]);
        assert_eq!(find_cycles(&e), [["a", "b", "c", "a"]]);
        e.get_mut("c").unwrap().clear();
        assert!(find_cycles(&e).is_empty());
    }

    #[test]
    fn long_cycles_are_found_without_recursion_and_shortened_in_the_message() {
        // Runs on a test thread (2 MiB stack) in a debug build: a recursive walk overflows here.
        let names: Vec<String> = (0..20_000).map(|i| format!("m{i:05}")).collect();
        let mut pairs: Vec<(&str, &str)> = names.windows(2).map(|w| (&*w[1], &*w[0])).collect();
        pairs.push((&names[0], &names[names.len() - 1]));
        let cycles = find_cycles(&graph(&pairs));
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].len(), 20_001);
        assert_eq!(
            cycle_text(&cycles[0]),
            "m00000 -> m19999 -> m19998 -> m19997 -> m19996 -> m19995 -> m19994 -> m19993 -> \
             … 19990 more … -> m00002 -> m00001 -> m00000 (20000 members)"
        );
        assert_eq!(cycle_text(&["a", "b", "a"]), "a -> b -> a");
    }

    #[test]
    fn reports_one_shortest_cycle_per_component_and_self_dependencies() {
        // x -> y -> z -> x plus a shortcut y -> x; s depends on itself; q -> r is no cycle.
        let e = graph(&[
            ("z", "x"),
            ("x", "y"),
            ("y", "z"),
            ("y", "x"),
            ("s", "s"),
            ("q", "r"),
        ]);
        assert_eq!(find_cycles(&e), vec![vec!["s", "s"], vec!["x", "y", "x"]]);
    }
}
