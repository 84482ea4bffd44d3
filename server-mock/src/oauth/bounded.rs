//! A map from secret keys (device codes, tokens) to values that keeps at most `capacity`
//! entries, dropping the oldest first. Its `Debug` shows only the count: the keys are secrets.

use std::collections::{BTreeMap, HashMap};

/// Entries by key, and their insertion order (a number per entry) for eviction and listing.
pub(crate) struct Bounded<V> {
    entries: HashMap<String, (u64, V)>,
    order: BTreeMap<u64, String>,
    next: u64,
    capacity: usize,
}

impl<V> std::fmt::Debug for Bounded<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bounded")
            .field("len", &self.entries.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<V> Bounded<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            capacity,
        }
    }

    /// Adds an entry (replacing one with the same key) and returns what made room for it: the
    /// oldest entries beyond the capacity.
    pub(crate) fn insert(&mut self, key: String, value: V) -> Vec<(String, V)> {
        self.remove(&key);
        let mut evicted = Vec::new();
        while self.entries.len() >= self.capacity.max(1) {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, value)) = self.entries.remove(&oldest) {
                evicted.push((oldest, value));
            }
        }
        let number = self.next;
        self.next += 1;
        self.order.insert(number, key.clone());
        self.entries.insert(key, (number, value));
        evicted
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.entries.get_mut(key).map(|(_, value)| value)
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let (number, value) = self.entries.remove(key)?;
        self.order.remove(&number);
        Some(value)
    }

    /// Keeps only the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let order = &mut self.order;
        self.entries.retain(|_, (number, value)| {
            let kept = keep(value);
            if !kept {
                order.remove(number);
            }
            kept
        });
    }

    /// The values, oldest first.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.order
            .values()
            .filter_map(|key| self.entries.get(key).map(|(_, value)| value))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_go_first_and_removal_keeps_the_order_right() {
        let mut map = Bounded::new(3);
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            assert!(map.insert(key.to_owned(), i).is_empty());
        }
        assert_eq!(map.insert("d".to_owned(), 3), vec![("a".to_owned(), 0)]);
        assert_eq!(map.remove("c"), Some(2));
        assert!(map.insert("e".to_owned(), 4).is_empty(), "room was made");
        assert_eq!(map.values().copied().collect::<Vec<_>>(), [1, 3, 4]);
        // Replacing a key moves it to the end without evicting anything.
        assert!(map.insert("b".to_owned(), 5).is_empty());
        assert_eq!(map.values().copied().collect::<Vec<_>>(), [3, 4, 5]);
        map.retain(|v| *v != 4);
        assert_eq!(map.len(), 2);
        assert_eq!(map.insert("f".to_owned(), 6), Vec::new());
        assert_eq!(map.insert("g".to_owned(), 7), vec![("d".to_owned(), 3)]);
        assert_eq!(map.get("g"), Some(&7));
        if let Some(v) = map.get_mut("g") {
            *v = 8;
        }
        assert_eq!(map.values().copied().collect::<Vec<_>>(), [5, 6, 8]);
        assert_eq!(format!("{map:?}"), "Bounded { len: 3, capacity: 3 }");
    }
}
