//! Ordered maps on rayon's pool, or on the calling thread when there is too little work to pay
//! for the pool: its threads start on first use and spin before they sleep, which for a catalog
//! of a handful of documents costs more than the work itself (and, on two cores, competes with
//! the ledger and the tool a run starts next).

use rayon::prelude::*;

/// Below this many items the work stays on the calling thread.
pub(crate) const MIN_PARALLEL_ITEMS: usize = 16;

/// `items` mapped through `f`, results in `items`' order: on every core when there are at least
/// `MIN_PARALLEL_ITEMS` of them, otherwise on this thread.
pub(crate) fn map_ordered<I, T, R, F>(items: I, len: usize, f: F) -> Vec<R>
where
    I: IntoIterator<Item = T> + IntoParallelIterator<Item = T>,
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync + Send,
{
    if len < MIN_PARALLEL_ITEMS {
        IntoIterator::into_iter(items).map(f).collect()
    } else {
        IntoParallelIterator::into_par_iter(items).map(f).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_kept_on_both_paths() {
        for n in [0, 3, MIN_PARALLEL_ITEMS - 1, MIN_PARALLEL_ITEMS, 500] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_ordered(items, n, |i| i * 2);
            assert_eq!(
                doubled,
                (0..n).map(|i| i * 2).collect::<Vec<_>>(),
                "n = {n}"
            );
        }
    }
}
