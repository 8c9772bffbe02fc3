//! Which functions account for their stack frames, and how many units each
//! claims: the static half of the deterministic stack limit.
//!
//! A function outside every cycle of the call graph that only other
//! functions of the module call directly has a depth its callers can know:
//! they claim it for it. Only the functions that may be entered some other
//! way claim on entry: those in a cycle (recursion, directly or through a
//! table), the exported ones, the start function, and those a table or a
//! `ref.func` can reach. Each claims its own frame plus the deepest chain
//! of non-claiming functions it calls directly, so the count in the stack
//! global is never below the frames really active, and it depends only on
//! which claiming functions are active: the same under every compiler.

/// A module's defined functions and how they call each other. Indices are
/// those of the defined functions (imports not counted).
#[derive(Debug, Default)]
pub(crate) struct CallGraph {
    /// Per function: the defined functions it calls directly (repeats
    /// allowed).
    pub callees: Vec<Vec<u32>>,
    /// Per function: it calls through a table or a function reference.
    pub indirect: Vec<bool>,
    /// Per function: it is in a table or taken by `ref.func`, so an
    /// indirect call may reach it.
    pub address_taken: Vec<bool>,
    /// Per function: the host may enter it (an export or the start
    /// function).
    pub entry: Vec<bool>,
}

impl CallGraph {
    /// A graph of `functions` functions with no calls yet.
    pub fn new(functions: usize) -> Self {
        Self {
            callees: vec![Vec::new(); functions],
            indirect: vec![false; functions],
            address_taken: vec![false; functions],
            entry: vec![false; functions],
        }
    }

    /// Marks `function` as entered from outside, ignoring an index that is
    /// not a defined function (an import).
    pub fn mark(marks: &mut [bool], function: Option<usize>) {
        if let Some(mark) = function.and_then(|f| marks.get_mut(f)) {
            *mark = true;
        }
    }
}

/// Per function (of `frames.len()`, each its own frame cost): the units it
/// claims on entry, or `None` when the functions calling it claim for it.
/// Linear in the functions and calls (an indirect call is one edge to all
/// address-taken functions together), so a hostile module buys no
/// quadratic work.
pub(crate) fn claims(frames: &[u32], graph: &CallGraph) -> Vec<Option<u64>> {
    let n = frames.len();
    let recursive = in_cycles(graph);
    let claiming: Vec<bool> =
        (0..n).map(|f| recursive[f] || graph.entry[f] || graph.address_taken[f]).collect();
    // The deepest chain from each function through non-claiming callees,
    // its own frame included. Non-claiming functions are in no cycle, so a
    // depth-first walk over them ends; it is iterative, as module sizes
    // are an attacker's choice.
    let mut depth: Vec<Option<u64>> = vec![None; n];
    for root in 0..n {
        if depth[root].is_some() {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        while let Some(&mut (f, ref mut next)) = stack.last_mut() {
            let callees = &graph.callees[f];
            if let Some(&c) = callees.get(*next) {
                *next += 1;
                let c = c as usize;
                if !claiming[c] && depth[c].is_none() {
                    stack.push((c, 0));
                }
                continue;
            }
            let deepest = callees
                .iter()
                .filter(|&&c| !claiming[c as usize])
                .filter_map(|&c| depth[c as usize])
                .max()
                .unwrap_or(0);
            depth[f] = Some(u64::from(frames[f]) + deepest);
            stack.pop();
        }
    }
    (0..n).map(|f| if claiming[f] { depth[f] } else { None }).collect()
}

/// Per function: whether it is in a cycle of the call graph (calls itself,
/// directly or through others or a table). Tarjan's strongly connected
/// components, iterative, over the functions plus one node standing for
/// every table: indirect callers lead to it, it leads to every
/// address-taken function.
fn in_cycles(graph: &CallGraph) -> Vec<bool> {
    let n = graph.callees.len();
    let table = n;
    let address_taken: Vec<u32> = (0..n as u32).filter(|&f| graph.address_taken[f as usize]).collect();
    let table_edge = [table as u32];
    let edges = |v: usize| -> &[u32] { if v == table { &address_taken } else { &graph.callees[v] } };
    let extra = |v: usize| -> &[u32] { if v < n && graph.indirect[v] { &table_edge } else { &[] } };
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n + 1];
    let mut low = vec![0usize; n + 1];
    let mut on_stack = vec![false; n + 1];
    let mut components: Vec<usize> = Vec::new();
    let mut cyclic = vec![false; n];
    let mut counter = 0usize;
    for root in 0..=n {
        if index[root] != UNSEEN {
            continue;
        }
        // (node, position in its edges followed by its extra edge)
        let mut work = vec![(root, 0usize)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        components.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut next)) = work.last_mut() {
            let (direct, extra) = (edges(v), extra(v));
            if *next < direct.len() + extra.len() {
                let w =
                    if *next < direct.len() { direct[*next] } else { extra[*next - direct.len()] } as usize;
                *next += 1;
                if index[w] == UNSEEN {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    components.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                loop {
                    let w = components.pop().expect("v is on the stack");
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                let calls_itself = |f: usize| f < n && graph.callees[f].contains(&(f as u32));
                if members.len() > 1 || calls_itself(v) {
                    for f in members.into_iter().filter(|&f| f < n) {
                        cyclic[f] = true;
                    }
                }
            }
        }
    }
    cyclic
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(callees: &[&[u32]]) -> CallGraph {
        let mut graph = CallGraph::new(callees.len());
        for (f, c) in callees.iter().enumerate() {
            graph.callees[f] = c.to_vec();
        }
        graph
    }

    #[test]
    fn only_cycles_and_entries_claim_and_a_claim_covers_its_chain() {
        // 0 (exported) -> 1 -> 2, and 0 -> 3 -> 3 (recursive) -> 4.
        let mut g = graph(&[&[1, 3], &[2], &[], &[3, 4], &[]]);
        g.entry[0] = true;
        let claims = claims(&[10, 20, 30, 40, 50], &g);
        assert_eq!(claims, [Some(60), None, None, Some(90), None]);
    }

    #[test]
    fn a_cycle_through_a_table_claims_per_frame() {
        // 0 (exported) calls indirectly; 1 is in the table and calls 0.
        let mut g = graph(&[&[], &[0]]);
        g.entry[0] = true;
        g.indirect[0] = true;
        g.address_taken[1] = true;
        assert_eq!(in_cycles(&g), [true, true]);
        // An address-taken function outside any cycle still claims: an
        // indirect call does not know which function it reaches.
        let mut g = graph(&[&[], &[]]);
        g.entry[0] = true;
        g.indirect[0] = true;
        g.address_taken[1] = true;
        assert_eq!(in_cycles(&g), [false, false]);
        assert_eq!(claims(&[5, 7], &g), [Some(5), Some(7)]);
    }

    #[test]
    fn mutual_recursion_is_a_cycle_and_a_chain_is_not() {
        let g = graph(&[&[1], &[2], &[0], &[4], &[]]);
        assert_eq!(in_cycles(&g), [true, true, true, false, false]);
    }

    #[test]
    fn a_long_chain_needs_no_deep_native_stack() {
        let n = 200_000u32;
        let mut g = CallGraph::new(n as usize);
        for f in 0..n - 1 {
            g.callees[f as usize] = vec![f + 1];
        }
        g.entry[0] = true;
        let claims = claims(&vec![1; n as usize], &g);
        assert_eq!(claims[0], Some(u64::from(n)));
        assert!(claims[1..].iter().all(Option::is_none));
    }
}
