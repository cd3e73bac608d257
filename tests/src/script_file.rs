//! A script file for the `fake-openai` binary: the models to list, the queue of responses, and
//! what to answer once the queue is empty. TOML or JSON (chosen by the file extension).
//!
//! ```toml
//! models = ["fake-model"]
//! [fallback]
//! kind = "reply"
//! text = "hello from the fake server"
//! [[responses]]
//! kind = "error"
//! status = 429
//! retry_after = "1"
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fake::Scripted;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptFile {
    pub models: Vec<String>,
    pub responses: Vec<Scripted>,
    /// Served (again and again) when `responses` is used up; none gives 500 "script exhausted".
    pub fallback: Option<Scripted>,
}

impl ScriptFile {
    /// Reads a `.json` file as JSON, anything else as TOML.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
        } else {
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{HttpError, Reply};

    #[test]
    fn toml_script_parses_all_kinds() {
        let text = r#"
models = ["m1", "m2"]
[fallback]
kind = "reply"
text = "hi"
[[responses]]
kind = "error"
status = 429
message = "slow down"
retry_after = "2"
[[responses]]
kind = "reset"
[[responses]]
kind = "reply"
text = "abc"
text_chunks = 3
usage = { prompt_tokens = 5, completion_tokens = 2, cached_tokens = 1 }
tool_calls = [{ id = "c1", name = "python", arguments = '{"code":"1"}', pieces = 2 }]
[[responses]]
kind = "stream"
end = "cut"
frames = [{ raw = "data: nope\n\n" }, { pause_ms = 5 }, { data = { id = "x", choices = [] } }]
"#;
        let file: ScriptFile = toml::from_str(text).expect("parses");
        assert_eq!(file.models, vec!["m1", "m2"]);
        assert_eq!(file.fallback, Some(Scripted::text("hi")));
        assert_eq!(file.responses.len(), 4);
        match &file.responses[0] {
            Scripted::Error(HttpError {
                status,
                retry_after,
                ..
            }) => {
                assert_eq!(*status, 429);
                assert_eq!(retry_after.as_deref(), Some("2"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(file.responses[1], Scripted::Reset);
        let expected: Scripted = Reply::text("abc")
            .chunks(3)
            .usage(5, 2, 1)
            .tool_call_in("c1", "python", r#"{"code":"1"}"#, 2)
            .into();
        assert_eq!(file.responses[2], expected);
    }

    #[test]
    fn json_roundtrip() {
        let file = ScriptFile {
            models: vec!["m".into()],
            responses: vec![
                Scripted::rate_limited(1),
                Reply::text("x").cut_after(2).into(),
            ],
            fallback: None,
        };
        let json = serde_json::to_string(&file).expect("serializes");
        let back: ScriptFile = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, file);
    }
}
