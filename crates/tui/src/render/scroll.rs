//! The scroll model every pane shares: follow the tail until the user scrolls up.

use std::cell::Cell;

/// A pane's scroll position. `follow` pins the view to the newest line; scrolling up unpins it
/// and End (or scrolling back to the bottom) pins it again.
#[derive(Debug, Clone)]
pub struct Scroll {
    /// Index of the first visible line when not following.
    top: usize,
    follow: bool,
    /// (total lines, viewport height) of the last frame drawn. A memo written by drawing so key
    /// handling can page by the real viewport size; it never changes what is shown.
    last: Cell<(usize, usize)>,
}

impl Default for Scroll {
    fn default() -> Self {
        Scroll {
            top: 0,
            follow: true,
            last: Cell::new((0, 0)),
        }
    }
}

impl Scroll {
    pub fn following(&self) -> bool {
        self.follow
    }

    /// The first line to show for this content and viewport; records both for paging.
    pub fn top_for(&self, total: usize, height: usize) -> usize {
        self.last.set((total, height));
        let max_top = total.saturating_sub(height);
        if self.follow {
            max_top
        } else {
            self.top.min(max_top)
        }
    }

    /// Lines below the viewport, for the "more below" indicator.
    pub fn below(&self, total: usize, height: usize) -> usize {
        let top = if self.follow {
            total.saturating_sub(height)
        } else {
            self.top.min(total.saturating_sub(height))
        };
        total.saturating_sub(top + height)
    }

    fn current_top(&self) -> usize {
        let (total, height) = self.last.get();
        let max_top = total.saturating_sub(height);
        if self.follow {
            max_top
        } else {
            self.top.min(max_top)
        }
    }

    pub fn up(&mut self, n: usize) {
        self.top = self.current_top().saturating_sub(n);
        self.follow = false;
    }

    pub fn down(&mut self, n: usize) {
        let (total, height) = self.last.get();
        let max_top = total.saturating_sub(height);
        let top = self.current_top() + n;
        if top >= max_top {
            self.follow = true;
        } else {
            self.top = top;
        }
    }

    pub fn page(&self) -> usize {
        self.last.get().1.saturating_sub(2).max(1)
    }

    pub fn page_up(&mut self) {
        let p = self.page();
        self.up(p);
    }

    pub fn page_down(&mut self) {
        let p = self.page();
        self.down(p);
    }

    pub fn home(&mut self) {
        self.top = 0;
        self.follow = false;
    }

    pub fn end(&mut self) {
        self.follow = true;
    }

    /// Scrolls so that `line` is visible (used to reveal a selected item).
    pub fn reveal(&mut self, line: usize) {
        let (_, height) = self.last.get();
        let top = self.current_top();
        if line < top {
            self.top = line;
            self.follow = false;
        } else if height > 0 && line >= top + height {
            self.top = line + 1 - height;
            self.follow = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Scroll;

    #[test]
    fn follow_unpins_and_repins() {
        let mut s = Scroll::default();
        assert_eq!(s.top_for(100, 10), 90);
        s.page_up();
        assert!(!s.following());
        assert_eq!(s.top_for(100, 10), 82);
        assert_eq!(s.below(100, 10), 8);
        // New content does not move a scrolled-up view.
        assert_eq!(s.top_for(150, 10), 82);
        s.down(1000);
        assert!(s.following());
        assert_eq!(s.top_for(150, 10), 140);
        s.home();
        assert_eq!(s.top_for(150, 10), 0);
        s.end();
        assert_eq!(s.top_for(150, 10), 140);
    }
}
