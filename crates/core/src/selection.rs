//! The provider and model a session calls, shared between the agent and its running turn.
//!
//! `/model` and `/provider` change it at once; a running turn reads it before each model call,
//! so a switch applies from the next call (also in the middle of a turn) and the agent, the
//! turn and the frontend never disagree about which model is current.

use std::sync::{Arc, Mutex};

use crate::provider::Provider;

/// What the next model call uses.
#[derive(Clone)]
pub(crate) struct Selected {
    pub provider: Arc<dyn Provider>,
    pub model: String,
    pub context_window: Option<u64>,
}

/// A shared, cheaply cloned handle on the current [`Selected`].
#[derive(Clone)]
pub(crate) struct Selection(Arc<Mutex<Selected>>);

impl Selection {
    pub fn new(selected: Selected) -> Selection {
        Selection(Arc::new(Mutex::new(selected)))
    }

    pub fn set(&self, selected: Selected) {
        // A poisoned lock only means a panic elsewhere while holding it; the value is whole.
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = selected;
    }

    pub fn get(&self) -> Selected {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
