//! The offline, deterministic provider: runs without a network or a key, labelled "mock".
//!
//! With a script (TOML, see assets/mock/) it answers the model calls in order. Without one (or
//! once the script is used up) it follows a few rules that exercise the whole loop: a fenced
//! python block or an arithmetic request becomes a `python` tool call, a tool result is
//! reported back, and anything else gets an answer explaining how to configure a real provider.

use std::sync::Mutex;

use futures::StreamExt;
use futures::future::BoxFuture;
use llm_repl_core::{ChatRequest, ChatStream, ListedModel, Provider, ProviderError, StreamItem};
use llm_repl_protocol::{Role, Usage};
use serde::Deserialize;

/// A mock script: one step per model call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub step: Vec<Step>,
}

/// One scripted model answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub tool_calls: Vec<ScriptedCall>,
    pub usage: Option<ScriptedUsage>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCall {
    pub name: String,
    /// Raw JSON text, sent as the model would (it may be deliberately broken).
    pub arguments: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedUsage {
    pub input: u64,
    pub output: u64,
}

/// The hint shown when the mock gets a question it has no rule for.
pub const CONFIGURE_HINT: &str = "I am the offline **mock** model: no provider is configured, \
so I can only run the loop's built-in demos. Ask me to compute something (\"compute 2**64 with \
python\") or send a fenced ```python block and I will run it with the python tool.\n\n\
To talk to a real model, set a key and pick a provider, e.g.:\n\n\
```sh\nexport OPENAI_API_KEY=...   # or GROQ_API_KEY, OPENROUTER_API_KEY\nllm-repl --provider openai\n```\n\n\
or write a `[providers.NAME]` entry (any OpenAI-compatible URL, Ollama included) to the file \
`llm-repl config path` shows; `llm-repl config init` writes a commented one.";

pub struct MockProvider {
    script: Mutex<std::collections::VecDeque<Step>>,
    calls: Mutex<u64>,
}

impl MockProvider {
    pub fn new(script: Option<Script>) -> Self {
        Self {
            script: Mutex::new(script.map(|s| s.step.into()).unwrap_or_default()),
            calls: Mutex::new(0),
        }
    }

    /// Parses a script, naming the file and line on error.
    pub fn load_script(path: &std::path::Path) -> Result<Script, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read mock script {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            format!("{}:{line}: {}", path.display(), e.message().trim())
        })
    }

    fn next_step(&self, request: &ChatRequest) -> Step {
        let scripted = self.script.lock().ok().and_then(|mut s| s.pop_front());
        scripted.unwrap_or_else(|| rules(request))
    }
}

impl Provider for MockProvider {
    fn name(&self) -> &str {
        "mock"
    }

    fn default_model(&self) -> &str {
        "mock"
    }

    fn is_mock(&self) -> bool {
        true
    }

    /// The mock answers as one model, `mock`.
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<ListedModel>, ProviderError>> {
        Box::pin(async {
            Ok(vec![ListedModel {
                id: "mock".into(),
                context_window: None,
            }])
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        let step = self.next_step(&request);
        let n = self.calls.lock().map(|mut c| {
            *c += 1;
            *c
        });
        let n = n.unwrap_or(0);
        Box::pin(async move { Ok(futures::stream::iter(step_items(step, n)).map(Ok).boxed()) })
    }
}

fn step_items(step: Step, call_number: u64) -> Vec<StreamItem> {
    let mut items: Vec<StreamItem> = split_words(&step.text)
        .into_iter()
        .map(StreamItem::Text)
        .collect();
    let has_calls = !step.tool_calls.is_empty();
    for (i, call) in step.tool_calls.into_iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        items.push(StreamItem::ToolCallDelta {
            index,
            id: Some(format!("mock_{call_number}_{i}")),
            name: Some(call.name),
            arguments: String::new(),
        });
        // Arguments arrive in pieces, as from a real server.
        let args: Vec<char> = call.arguments.chars().collect();
        for piece in args.chunks(16) {
            items.push(StreamItem::ToolCallDelta {
                index,
                id: None,
                name: None,
                arguments: piece.iter().collect(),
            });
        }
    }
    items.push(StreamItem::Finish(
        if has_calls { "tool_calls" } else { "stop" }.into(),
    ));
    if let Some(u) = step.usage {
        items.push(StreamItem::Usage(Usage {
            input: u.input,
            output: u.output,
            ..Usage::default()
        }));
    }
    items
}

/// Splits text into word-sized deltas that concatenate back to the text.
fn split_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if ch == ' ' || ch == '\n' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The built-in behaviour.
fn rules(request: &ChatRequest) -> Step {
    let Some(last) = request.messages.last() else {
        return text_step(CONFIGURE_HINT);
    };
    if last.role == Role::Tool {
        let output = llm_repl_core::framing::unframe(&last.content).trim_end();
        let answer = match first_result_line(output) {
            Some(value) => format!(
                "The python tool ran the code and printed:\n\n```\n{output}\n```\n\nThe answer \
                 is **{value}**."
            ),
            None => format!("The tool answered:\n\n```\n{output}\n```"),
        };
        return text_step(&answer);
    }
    let prompt = &last.content;
    let has_python = request.tools.iter().any(|t| t.name == "python");
    if has_python {
        if let Some(code) = fenced_python(prompt) {
            return python_step("I'll run that code with the python tool.", &code);
        }
        if let Some(expr) = arithmetic(prompt) {
            return python_step(
                &format!("Let me compute `{expr}` with the python tool."),
                &format!("print({expr})"),
            );
        }
    }
    text_step(CONFIGURE_HINT)
}

fn text_step(text: &str) -> Step {
    Step {
        text: text.into(),
        ..Step::default()
    }
}

fn python_step(text: &str, code: &str) -> Step {
    Step {
        text: text.into(),
        tool_calls: vec![ScriptedCall {
            name: "python".into(),
            arguments: serde_json::json!({ "code": code }).to_string(),
        }],
        usage: None,
    }
}

/// The first non-empty output line that is not the runner's own status line.
fn first_result_line(output: &str) -> Option<&str> {
    output
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('[') && !l.starts_with("exit"))
}

fn fenced_python(prompt: &str) -> Option<String> {
    let start = prompt.find("```python").or_else(|| prompt.find("```py"))?;
    let after = &prompt[start..];
    let body_start = after.find('\n')? + 1;
    let body = &after[body_start..];
    let end = body.find("```").unwrap_or(body.len());
    let code = body[..end].trim_end();
    (!code.trim().is_empty()).then(|| code.to_string())
}

/// The longest run of arithmetic characters holding a digit and an operator, e.g. `2**64`.
fn arithmetic(prompt: &str) -> Option<String> {
    let is_arith = |c: char| c.is_ascii_digit() || "+-*/%().^ ".contains(c);
    let mut best: Option<String> = None;
    let mut current = String::new();
    for ch in prompt.chars().chain(std::iter::once('\u{0}')) {
        if is_arith(ch) {
            current.push(ch);
            continue;
        }
        let candidate = current.trim().trim_end_matches(['.', ' ']).to_string();
        current.clear();
        let has_digit = candidate.chars().any(|c| c.is_ascii_digit());
        let has_op = candidate.chars().any(|c| "+-*/%^".contains(c));
        if has_digit && has_op && best.as_ref().is_none_or(|b| candidate.len() > b.len()) {
            best = Some(candidate);
        }
    }
    best.map(|e| e.replace('^', "**"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_repl_core::ToolSpec;
    use llm_repl_protocol::{Message, ToolResult};

    fn req(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            model: "mock".into(),
            messages,
            tools: vec![ToolSpec {
                name: "python".into(),
                description: String::new(),
                parameters: serde_json::json!({}),
            }],
            max_tokens: None,
            temperature: None,
            prompt_tokens: None,
        }
    }

    #[test]
    fn arithmetic_requests_become_python_calls() {
        assert_eq!(
            arithmetic("compute 2**64 with python").as_deref(),
            Some("2**64")
        );
        assert_eq!(arithmetic("what is 12*(3+4)?").as_deref(), Some("12*(3+4)"));
        assert_eq!(arithmetic("2^10").as_deref(), Some("2**10"));
        assert_eq!(arithmetic("hello 2026"), None);
        let step = rules(&req(vec![Message::user("compute 2**64 with python")]));
        assert_eq!(step.tool_calls[0].name, "python");
        assert_eq!(step.tool_calls[0].arguments, r#"{"code":"print(2**64)"}"#);
    }

    #[test]
    fn fenced_blocks_are_run_and_results_reported() {
        let step = rules(&req(vec![Message::user(
            "run\n```python\nx = 3\nprint(x)\n```",
        )]));
        assert!(step.tool_calls[0].arguments.contains("x = 3\\nprint(x)"));
        let result = ToolResult {
            call_id: "c".into(),
            content: "18446744073709551616\n".into(),
            is_error: false,
        };
        let step = rules(&req(vec![Message::user("q"), Message::tool(&result)]));
        assert!(
            step.text.contains("**18446744073709551616**"),
            "{}",
            step.text
        );
    }

    #[test]
    fn other_prompts_get_the_configuration_hint() {
        let step = rules(&req(vec![Message::user("hello")]));
        assert!(step.tool_calls.is_empty());
        assert!(step.text.contains("OPENAI_API_KEY"));
    }

    #[test]
    fn words_concatenate_back_and_items_end_with_finish() {
        assert_eq!(split_words("a b\nc").concat(), "a b\nc");
        let items = step_items(python_step("t", "print(1)"), 1);
        assert!(matches!(items.last(), Some(StreamItem::Finish(r)) if r == "tool_calls"));
    }

    #[test]
    fn the_shipped_demo_script_parses() {
        let script: Script =
            toml::from_str(include_str!("../../../assets/mock/demo.toml")).unwrap();
        assert_eq!(script.step.len(), 5);
        assert!(
            script.step[0].tool_calls[0].arguments.ends_with(")\""),
            "broken on purpose"
        );
        assert!(script.step[4].text.contains("5050"));
    }

    #[test]
    fn scripts_parse_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "[[step]]\ntext = \"hi\"\n[[step]]\ntxet = 1\n").unwrap();
        let err = MockProvider::load_script(&p).unwrap_err();
        assert!(err.contains("s.toml:4"), "{err}");
        std::fs::write(
            &p,
            "[[step]]\ntext = \"a\"\n[[step.tool_calls]]\nname = \"python\"\narguments = '{}'\n",
        )
        .unwrap();
        assert_eq!(
            MockProvider::load_script(&p).unwrap().step[0]
                .tool_calls
                .len(),
            1
        );
    }
}
