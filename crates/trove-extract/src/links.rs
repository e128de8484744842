//! Children as a doubly linked list in an arena, as libxml2 keeps them: stepping to a sibling,
//! removing a node and inserting one next to another take constant time whatever the number of
//! siblings. Both trees of the crate ([`crate::etree`] and readability's DOM) use it; a `Vec` of
//! children made pages with 100,000 `<br>` or `<p>` in one element quadratic (seconds to minutes
//! a page).

pub(crate) type Id = usize;

/// A node's place in its tree.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Links {
    pub parent: Option<Id>,
    pub first: Option<Id>,
    pub last: Option<Id>,
    pub prev: Option<Id>,
    pub next: Option<Id>,
    /// The number of children.
    pub count: usize,
}

/// An arena node with [`Links`].
pub(crate) trait Linked {
    fn links(&self) -> &Links;
    fn links_mut(&mut self) -> &mut Links;
}

/// Links the detached `child` into `parent`, before `before` (a child of `parent`) or last.
pub(crate) fn link<T: Linked>(nodes: &mut [T], parent: Id, before: Option<Id>, child: Id) {
    let prev = match before {
        Some(b) => nodes[b].links().prev,
        None => nodes[parent].links().last,
    };
    match prev {
        Some(p) => nodes[p].links_mut().next = Some(child),
        None => nodes[parent].links_mut().first = Some(child),
    }
    match before {
        Some(b) => nodes[b].links_mut().prev = Some(child),
        None => nodes[parent].links_mut().last = Some(child),
    }
    let c = nodes[child].links_mut();
    c.parent = Some(parent);
    c.prev = prev;
    c.next = before;
    nodes[parent].links_mut().count += 1;
}

/// Takes `id` out of its parent's children (nothing happens to a node without a parent).
pub(crate) fn unlink<T: Linked>(nodes: &mut [T], id: Id) {
    let links = nodes[id].links_mut();
    let Some(parent) = links.parent.take() else { return };
    let (prev, next) = (links.prev.take(), links.next.take());
    match prev {
        Some(x) => nodes[x].links_mut().next = next,
        None => nodes[parent].links_mut().first = next,
    }
    match next {
        Some(x) => nodes[x].links_mut().prev = prev,
        None => nodes[parent].links_mut().last = prev,
    }
    nodes[parent].links_mut().count -= 1;
}

/// The children of a node, first to last (or last to first with `rev`).
pub(crate) struct Children<'a, T> {
    nodes: &'a [T],
    front: Option<Id>,
    back: Option<Id>,
    left: usize,
}

impl<'a, T: Linked> Children<'a, T> {
    pub fn of(nodes: &'a [T], id: Id) -> Self {
        let l = nodes[id].links();
        Children { nodes, front: l.first, back: l.last, left: l.count }
    }
}

impl<T: Linked> Iterator for Children<'_, T> {
    type Item = Id;
    fn next(&mut self) -> Option<Id> {
        if self.left == 0 {
            return None;
        }
        let id = self.front?;
        self.left -= 1;
        self.front = self.nodes[id].links().next;
        Some(id)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T: Linked> DoubleEndedIterator for Children<'_, T> {
    fn next_back(&mut self) -> Option<Id> {
        if self.left == 0 {
            return None;
        }
        let id = self.back?;
        self.left -= 1;
        self.back = self.nodes[id].links().prev;
        Some(id)
    }
}

impl<T: Linked> ExactSizeIterator for Children<'_, T> {}
