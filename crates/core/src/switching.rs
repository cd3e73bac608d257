//! Switching the model or the provider of the open session (`/model`, `/provider`, the model
//! picker): the change applies from the next model call, a running turn sees it through the
//! shared [`Selection`], and the frontend is told "from -> to" (never a re-announced session).

use llm_repl_protocol::{Event, NoticeLevel};

use crate::agent::{Agent, session_info};
use crate::selection::Selected;

impl Agent {
    pub(crate) fn set_model(&mut self, model: &str) {
        let model = model.trim();
        if model.is_empty() {
            self.emit(Event::Error {
                message: "no model named: /model NAME".into(),
            });
            return;
        }
        let from = (self.info.provider.clone(), self.info.model.clone());
        self.deps.config.model = model.to_string();
        self.info.model = model.to_string();
        self.info.context_window = self.context_window();
        self.announce_switch(from);
    }

    /// Shares the new choice with a running turn and tells the frontend.
    fn announce_switch(&mut self, (from_provider, from_model): (String, String)) {
        self.selection.set(Selected {
            provider: self.deps.provider.clone(),
            model: self.info.model.clone(),
            context_window: self.info.context_window,
        });
        self.emit(Event::ModelSwitched {
            info: self.info.clone(),
            from_provider,
            from_model,
        });
    }

    pub(crate) fn set_provider(&mut self, name: &str) {
        let Some(factory) = &self.deps.provider_factory else {
            self.notice(
                NoticeLevel::Warn,
                "switching providers is not available here",
            );
            return;
        };
        match factory(name) {
            Ok(provider) => {
                let from = (self.info.provider.clone(), self.info.model.clone());
                self.deps.config.model.clear();
                self.info = session_info(&self.deps, provider.as_ref(), Some(&self.info));
                self.deps.provider = provider;
                self.info.context_window = self.context_window();
                self.announce_switch(from);
            }
            Err(message) => self.emit(Event::Error { message }),
        }
    }
}
