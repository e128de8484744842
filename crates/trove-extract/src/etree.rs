//! A small arena tree with lxml's element model, for ports of Python code written against lxml.
//!
//! Text lives in elements as in lxml: `text` is what comes before an element's first child, `tail`
//! what follows its end tag inside its parent. Moving an element moves its tail with it; removing it
//! drops both. Iteration follows lxml's rules where ports depend on them: [`Tree::iter_live`] computes
//! the next node when it yields the current one (so a loop that deletes what it visits behaves as
//! `for e in tree.iter(tag)` does), and [`Tree::iter`] is a snapshot (as `xpath` results are).
//! Comments and processing instructions are not kept (trafilatura parses with both removed).
//! Children are a linked list ([`crate::links`]): sibling steps and removals take constant time.

use crate::links::{self, Children, Linked, Links};
use scraper::node::Node as HtmlNode;
use scraper::Html;

pub(crate) use crate::links::Id;

/// Deepest nesting copied from the parsed page; deeper elements are left out so that hostile
/// nesting cannot exhaust the stack of recursive walks.
const MAX_DEPTH: usize = 500;

#[derive(Clone, Debug, Default)]
pub(crate) struct Elem {
    pub tag: String,
    pub attrs: Vec<(String, String)>,
    pub text: Option<String>,
    pub tail: Option<String>,
    links: Links,
}

impl Linked for Elem {
    fn links(&self) -> &Links {
        &self.links
    }
    fn links_mut(&mut self) -> &mut Links {
        &mut self.links
    }
}

#[derive(Default)]
pub(crate) struct Tree {
    pub n: Vec<Elem>,
}

fn push_opt(slot: &mut Option<String>, s: &str) {
    match slot {
        Some(t) => t.push_str(s),
        None => *slot = Some(s.to_string()),
    }
}

impl Tree {
    /// Parses `html` (html5ever) and returns the tree and its `<html>` element.
    pub fn parse(html: &str) -> (Tree, Id) {
        let doc = Html::parse_document(html);
        let mut tree = Tree { n: Vec::with_capacity(1024) };
        let root = doc.root_element();
        let id = tree.new_elem(root.value().name());
        tree.n[id].attrs = root.value().attrs().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        // Iterative copy: (source node, target element, depth).
        let mut stack = vec![(root.id(), id, 0usize)];
        while let Some((from, to, depth)) = stack.pop() {
            let Some(node) = doc.tree.get(from) else { continue };
            let mut pending = Vec::new();
            for child in node.children() {
                match child.value() {
                    HtmlNode::Element(e) => {
                        if depth + 1 > MAX_DEPTH {
                            continue;
                        }
                        let c = tree.new_elem(e.name());
                        tree.n[c].attrs = e.attrs().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                        tree.link(to, None, c);
                        pending.push((child.id(), c, depth + 1));
                    }
                    HtmlNode::Text(t) => {
                        let target = tree.n[to].links.last;
                        match target {
                            Some(last) => push_opt(&mut tree.n[last].tail, &t.text),
                            None => push_opt(&mut tree.n[to].text, &t.text),
                        }
                    }
                    _ => {}
                }
            }
            stack.extend(pending.into_iter().rev());
        }
        (tree, id)
    }

    pub fn new_elem(&mut self, tag: &str) -> Id {
        self.n.push(Elem { tag: tag.to_string(), ..Default::default() });
        self.n.len() - 1
    }

    pub fn tag(&self, id: Id) -> &str {
        &self.n[id].tag
    }

    pub fn set_tag(&mut self, id: Id, tag: &str) {
        self.n[id].tag.clear();
        self.n[id].tag.push_str(tag);
    }

    pub fn get(&self, id: Id, name: &str) -> Option<&str> {
        self.n[id].attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, id: Id, name: &str, value: &str) {
        let attrs = &mut self.n[id].attrs;
        match attrs.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_string(),
            None => attrs.push((name.to_string(), value.to_string())),
        }
    }

    /// `len(element)`: the number of children.
    pub fn len(&self, id: Id) -> usize {
        self.n[id].links.count
    }

    /// The children of `id` in order.
    pub fn children(&self, id: Id) -> Children<'_, Elem> {
        Children::of(&self.n, id)
    }

    pub fn first_child(&self, id: Id) -> Option<Id> {
        self.n[id].links.first
    }

    pub fn last_child(&self, id: Id) -> Option<Id> {
        self.n[id].links.last
    }

    /// `element[i]` (walks `i` siblings).
    pub fn child(&self, id: Id, i: usize) -> Option<Id> {
        self.children(id).nth(i)
    }

    pub fn parent(&self, id: Id) -> Option<Id> {
        self.n[id].links.parent
    }

    pub fn previous(&self, id: Id) -> Option<Id> {
        self.n[id].links.prev
    }

    pub fn next(&self, id: Id) -> Option<Id> {
        self.n[id].links.next
    }

    fn link(&mut self, parent: Id, before: Option<Id>, child: Id) {
        links::link(&mut self.n, parent, before, child);
    }

    /// `parent.remove(id)`: unlinks `id` (its tail goes with it).
    pub fn detach(&mut self, id: Id) {
        links::unlink(&mut self.n, id);
    }

    /// `parent.append(child)` (moves `child`).
    pub fn append(&mut self, parent: Id, child: Id) {
        self.detach(child);
        self.link(parent, None, child);
    }

    /// `parent.insert(index, child)` (moves `child`).
    pub fn insert(&mut self, parent: Id, index: usize, child: Id) {
        self.detach(child);
        let before = self.child(parent, index);
        self.link(parent, before, child);
    }

    /// `SubElement(parent, tag)`.
    pub fn sub_element(&mut self, parent: Id, tag: &str) -> Id {
        let id = self.new_elem(tag);
        self.link(parent, None, id);
        id
    }

    /// Copies every element of `other` into this tree; `other`'s element `i` becomes `i + offset`,
    /// with the returned offset.
    pub fn absorb(&mut self, other: &Tree) -> usize {
        let offset = self.n.len();
        let shift = |x: Option<Id>| x.map(|x| x + offset);
        self.n.extend(other.n.iter().map(|e| {
            let l = e.links;
            let links = Links {
                parent: shift(l.parent),
                first: shift(l.first),
                last: shift(l.last),
                prev: shift(l.prev),
                next: shift(l.next),
                count: l.count,
            };
            Elem { links, ..e.clone() }
        }));
        offset
    }

    /// `copy.deepcopy(element)`: a detached copy, tail included.
    pub fn deepcopy(&mut self, id: Id) -> Id {
        let copy = self.new_elem("");
        let mut stack = vec![(id, copy)];
        while let Some((from, to)) = stack.pop() {
            let src = &self.n[from];
            let (tag, attrs, text, tail) =
                (src.tag.clone(), src.attrs.clone(), src.text.clone(), src.tail.clone());
            let children: Vec<Id> = self.children(from).collect();
            let dst = &mut self.n[to];
            dst.tag = tag;
            dst.attrs = attrs;
            dst.text = text;
            dst.tail = tail;
            for c in children {
                let nc = self.new_elem("");
                self.link(to, None, nc);
                stack.push((c, nc));
            }
        }
        copy
    }

    /// The elements under `id` in document order, `id` included (a snapshot).
    pub fn iter(&self, id: Id) -> Vec<Id> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(e) = stack.pop() {
            out.push(e);
            stack.extend(self.children(e).rev());
        }
        out
    }

    /// `.//*`: the descendants of `id` in document order.
    pub fn descendants(&self, id: Id) -> Vec<Id> {
        let mut all = self.iter(id);
        all.remove(0);
        all
    }

    /// The node after `cur` in document order, without leaving `top`.
    pub fn following_any(&self, cur: Id, top: Id) -> Option<Id> {
        if let Some(c) = self.n[cur].links.first {
            return Some(c);
        }
        let mut node = cur;
        loop {
            if node == top {
                return None;
            }
            if let Some(n) = self.next(node) {
                return Some(n);
            }
            node = self.parent(node)?;
        }
    }

    /// lxml's live `top.iter(...)`: calls `f` on each element matching `pred`, `top` included; the
    /// next element is found before `f` runs on the current one.
    pub fn iter_live(&mut self, top: Id, pred: impl Fn(&str) -> bool, mut f: impl FnMut(&mut Tree, Id)) {
        let mut next = if pred(self.tag(top)) { Some(top) } else { self.following_match(top, top, &pred) };
        while let Some(cur) = next {
            next = self.following_match(cur, top, &pred);
            f(self, cur);
        }
    }

    /// The first element after `cur` in document order (inside `top`) whose tag matches.
    pub fn following_match_pub(&self, cur: Id, top: Id, pred: impl Fn(&str) -> bool) -> Option<Id> {
        self.following_match(cur, top, &pred)
    }

    fn following_match(&self, mut cur: Id, top: Id, pred: &impl Fn(&str) -> bool) -> Option<Id> {
        loop {
            cur = self.following_any(cur, top)?;
            if pred(self.tag(cur)) {
                return Some(cur);
            }
        }
    }

    fn walk_text(&self, id: Id, f: &mut impl FnMut(&str)) {
        // An explicit enter/exit walk; the flag says whether the element's tail is emitted.
        enum Step {
            Enter(Id, bool),
            Exit(Id, bool),
        }
        let mut steps = vec![Step::Enter(id, false)];
        while let Some(step) = steps.pop() {
            match step {
                Step::Enter(e, tail) => {
                    if let Some(t) = &self.n[e].text {
                        if !t.is_empty() {
                            f(t);
                        }
                    }
                    steps.push(Step::Exit(e, tail));
                    for c in self.children(e).rev() {
                        steps.push(Step::Enter(c, true));
                    }
                }
                Step::Exit(e, tail) => {
                    if tail {
                        if let Some(t) = &self.n[e].tail {
                            if !t.is_empty() {
                                f(t);
                            }
                        }
                    }
                }
            }
        }
    }

    /// `element.text_content()` (all text, the element's tail excluded).
    pub fn text_content(&self, id: Id) -> String {
        let mut s = String::new();
        self.walk_text(id, &mut |t| s.push_str(t));
        s
    }

    /// `' '.join(element.itertext())`.
    pub fn joined_text(&self, id: Id) -> String {
        let mut s = String::new();
        let mut first = true;
        self.walk_text(id, &mut |t| {
            if !first {
                s.push(' ');
            }
            first = false;
            s.push_str(t);
        });
        s
    }

    /// lxml's `strip_tags(root, *tags)`: elements under `root` (not `root`) whose tag matches are
    /// replaced by their content.
    pub fn strip_tags(&mut self, root: Id, pred: impl Fn(&str) -> bool) {
        let matches: Vec<Id> = self.descendants(root).into_iter().filter(|&e| pred(self.tag(e))).collect();
        for e in matches {
            self.unwrap(e);
        }
    }

    /// Replaces `e` by its text, children and tail in its parent.
    fn unwrap(&mut self, e: Id) {
        let Some(p) = self.parent(e) else { return };
        let prev = self.n[e].links.prev;
        let text = self.n[e].text.take();
        let tail = self.n[e].tail.take();
        // Text goes after the previous sibling or into the parent's text.
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            match prev {
                Some(prev) => push_opt(&mut self.n[prev].tail, &t),
                None => push_opt(&mut self.n[p].text, &t),
            }
        }
        if let Some(t) = tail.filter(|t| !t.is_empty()) {
            match self.n[e].links.last.or(prev) {
                Some(last) => push_opt(&mut self.n[last].tail, &t),
                None => push_opt(&mut self.n[p].text, &t),
            }
        }
        while let Some(c) = self.n[e].links.first {
            self.detach(c);
            self.link(p, Some(e), c);
        }
        self.detach(e);
    }

    /// lxml's `strip_elements(root, *tags)` (with tails): matching elements under `root` removed.
    pub fn strip_elements(&mut self, root: Id, pred: impl Fn(&str) -> bool) {
        let matches: Vec<Id> = self.descendants(root).into_iter().filter(|&e| pred(self.tag(e))).collect();
        for e in matches {
            self.detach(e);
        }
    }

    /// trafilatura's `delete_element`: removes `e`, joining its tail to the previous sibling or the
    /// parent's text.
    pub fn delete_element(&mut self, e: Id) {
        let Some(p) = self.parent(e) else { return };
        if let Some(tail) = self.n[e].tail.clone().filter(|t| !t.is_empty()) {
            match self.previous(e) {
                Some(prev) => push_opt(&mut self.n[prev].tail, &tail),
                None => push_opt(&mut self.n[p].text, &tail),
            }
        }
        self.detach(e);
    }

    /// The topmost ancestor of `id` (the root `//` searches from).
    pub fn root_of(&self, mut id: Id) -> Id {
        while let Some(p) = self.n[id].links.parent {
            id = p;
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(html: &str) -> (Tree, Id) {
        let (t, root) = Tree::parse(html);
        let b = t.children(root).find(|&c| t.tag(c) == "body").unwrap();
        (t, b)
    }

    #[test]
    fn text_and_tail_follow_lxml() {
        let (t, b) = body("<p>a<b>b</b>c<i>d</i></p>e");
        let p = t.child(b, 0).unwrap();
        assert_eq!(t.n[p].text.as_deref(), Some("a"));
        let bold = t.child(p, 0).unwrap();
        assert_eq!(t.n[bold].tail.as_deref(), Some("c"));
        assert_eq!(t.text_content(p), "abcd");
        assert_eq!(t.joined_text(p), "a b c d");
    }

    #[test]
    fn strip_tags_keeps_text_in_place() {
        let (mut t, b) = body("<div>x<span>a<i>b</i>c</span>d<span>e</span>f</div>");
        let div = t.child(b, 0).unwrap();
        t.strip_tags(div, |tag| tag == "span");
        assert_eq!(t.n[div].text.as_deref(), Some("xa"));
        assert_eq!(t.len(div), 1);
        let i = t.child(div, 0).unwrap();
        assert_eq!(t.n[i].tail.as_deref(), Some("cdef"));
    }

    #[test]
    fn live_iteration_finds_the_next_before_the_body_runs() {
        // Deleting a matched element whose subtree holds the next match: lxml goes on inside the
        // detached subtree and stops there, so the last <div> survives.
        let (mut t, b) = body("<div><div></div></div><div></div>");
        let mut seen = 0;
        t.iter_live(
            b,
            |tag| tag == "div",
            |t, e| {
                seen += 1;
                t.delete_element(e);
            },
        );
        assert_eq!(seen, 2);
        assert_eq!(t.len(b), 1);
    }

    #[test]
    fn delete_element_joins_tail() {
        let (mut t, b) = body("<div>a<span>x</span>b<em>y</em>c</div>");
        let div = t.child(b, 0).unwrap();
        let span = t.child(div, 0).unwrap();
        t.delete_element(span);
        assert_eq!(t.n[div].text.as_deref(), Some("ab"));
        let em = t.child(div, 0).unwrap();
        t.delete_element(em);
        assert_eq!(t.n[div].text.as_deref(), Some("abc"));
    }

    /// The links agree with each other: forward and backward walks give the same children, each
    /// child names its parent, counts match.
    fn check_links(t: &Tree, e: Id) {
        let forward: Vec<Id> = t.children(e).collect();
        let mut backward: Vec<Id> = t.children(e).rev().collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), t.len(e));
        for (i, &c) in forward.iter().enumerate() {
            assert_eq!(t.parent(c), Some(e));
            assert_eq!(t.previous(c), i.checked_sub(1).map(|j| forward[j]));
            assert_eq!(t.next(c), forward.get(i + 1).copied());
            check_links(t, c);
        }
    }

    #[test]
    fn insert_and_moves_keep_the_links() {
        let (mut t, b) = body("<div><a>1</a><b>2</b><c>3</c></div><p>x</p>");
        let div = t.child(b, 0).unwrap();
        let p = t.child(b, 1).unwrap();
        let c = t.child(div, 2).unwrap();
        t.insert(div, 0, c);
        let a = t.child(div, 1).unwrap();
        t.insert(div, 99, a);
        t.append(p, t.child(div, 1).unwrap());
        let tags = |t: &Tree, e: Id| t.children(e).map(|c| t.tag(c).to_string()).collect::<Vec<_>>();
        assert_eq!(tags(&t, div), ["c", "a"]);
        assert_eq!(tags(&t, p), ["b"]);
        let copy = t.deepcopy(div);
        assert_eq!(tags(&t, copy), ["c", "a"]);
        assert_eq!(t.parent(copy), None);
        assert_eq!(t.next(copy), None);
        check_links(&t, b);
        check_links(&t, copy);
    }

    #[test]
    fn wide_elements_take_linear_time() {
        // 100,000 children in one element: every operation the extractors repeat per child (live
        // iteration, moving children elsewhere, stripping and deleting them) is constant time.
        const N: usize = 100_000;
        let html = format!("<div>{}</div>", "<span>w</span>x<br>".repeat(N / 2));
        let (mut t, b) = body(&html);
        let div = t.child(b, 0).unwrap();
        let start = std::time::Instant::now();
        let mut seen = 0;
        t.iter_live(
            div,
            |tag| tag == "br",
            |t, e| {
                seen += 1;
                t.delete_element(e);
            },
        );
        assert_eq!(seen, N / 2);
        t.strip_tags(div, |tag| tag == "span");
        assert_eq!(t.len(div), 0);
        assert_eq!(t.n[div].text.as_deref().map(str::len), Some(N));
        let (mut t, b) = body(&"<p>a</p>".repeat(N));
        let to = t.sub_element(b, "body");
        for p in t.children(b).filter(|&c| t.tag(c) == "p").collect::<Vec<_>>() {
            t.append(to, p);
        }
        assert_eq!(t.len(to), N);
        check_links(&t, b);
        // A scan of the siblings per step took minutes here.
        assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
    }
}
