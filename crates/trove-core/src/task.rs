//! Task identity and DataTrove's file sharding.

/// Which shard of the work a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskInfo {
    /// This task's rank, `0..world_size`.
    pub rank: usize,
    /// Total number of tasks.
    pub world_size: usize,
}

impl TaskInfo {
    /// Task `rank` of `world_size`.
    pub fn new(rank: usize, world_size: usize) -> TaskInfo {
        TaskInfo { rank, world_size }
    }
}

/// DataTrove's sharding: of a sorted list, task `rank` of `world_size` takes items
/// `rank, rank + world_size, rank + 2 * world_size, ...`.
pub fn shard<T: Clone>(items: &[T], rank: usize, world_size: usize) -> Vec<T> {
    items.iter().skip(rank).step_by(world_size.max(1)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_list() {
        let items: Vec<usize> = (0..10).collect();
        assert_eq!(shard(&items, 0, 3), vec![0, 3, 6, 9]);
        assert_eq!(shard(&items, 2, 3), vec![2, 5, 8]);
        let mut all: Vec<usize> = (0..4).flat_map(|r| shard(&items, r, 4)).collect();
        all.sort();
        assert_eq!(all, items);
        assert!(shard(&items, 11, 12).is_empty());
    }
}
