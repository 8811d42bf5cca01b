//! A fixed-capacity list: filters have no heap.

/// Up to `N` values of `T`, in insertion order.
#[derive(Clone, Copy, Debug)]
pub struct List<T: Copy, const N: usize> {
    items: [Option<T>; N],
    len: usize,
}

impl<T: Copy, const N: usize> List<T, N> {
    /// An empty list.
    pub const fn new() -> Self {
        List {
            items: [None; N],
            len: 0,
        }
    }

    /// Appends `value`; returns `false` if the list is full.
    pub fn push(&mut self, value: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(value);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.items[..self.len].iter().flatten().copied()
    }
}

impl<T: Copy, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        Self::new()
    }
}
