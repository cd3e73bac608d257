//! A small, fast syntax highlighter for the languages tools run (Python, shell, JSON, Rust, C-like,
//! SQL, TOML/YAML).
//!
//! syntect would be more precise but costs a large grammar dump, a regex engine and milliseconds
//! per block; tool code and answer snippets need keywords, strings, numbers and comments told
//! apart, which a per-line lexer does in microseconds.

use ratatui::style::Style;
use ratatui::text::Span;

use crate::theme::Theme;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Python,
    Shell,
    Json,
    Rust,
    CLike,
    Sql,
    Conf,
    Plain,
}

fn lang_of(name: &str) -> Lang {
    match name.trim().to_ascii_lowercase().as_str() {
        "python" | "py" | "python3" | "ipython" => Lang::Python,
        "sh" | "bash" | "shell" | "zsh" | "console" | "shell-session" => Lang::Shell,
        "json" | "jsonc" => Lang::Json,
        "rust" | "rs" => Lang::Rust,
        "c" | "cpp" | "c++" | "h" | "go" | "java" | "js" | "javascript" | "ts" | "typescript"
        | "jsx" | "tsx" | "kotlin" | "swift" | "cs" | "csharp" => Lang::CLike,
        "sql" => Lang::Sql,
        "toml" | "yaml" | "yml" | "ini" => Lang::Conf,
        _ => Lang::Plain,
    }
}

fn keywords(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => &[
            "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
            "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
            "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
            "return", "try", "while", "with", "yield", "print",
        ],
        Lang::Shell => &[
            "if", "then", "else", "elif", "fi", "for", "while", "do", "done", "case", "esac", "in",
            "function", "return", "export", "local", "echo", "cd", "set", "unset", "exit",
        ],
        Lang::Json => &["true", "false", "null"],
        Lang::Rust => &[
            "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
            "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod",
            "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
            "trait", "true", "type", "unsafe", "use", "where", "while",
        ],
        Lang::CLike => &[
            "break",
            "case",
            "class",
            "const",
            "continue",
            "default",
            "do",
            "else",
            "enum",
            "export",
            "extends",
            "false",
            "for",
            "func",
            "function",
            "if",
            "import",
            "int",
            "interface",
            "let",
            "new",
            "null",
            "package",
            "private",
            "public",
            "return",
            "static",
            "struct",
            "switch",
            "this",
            "true",
            "try",
            "catch",
            "type",
            "var",
            "void",
            "while",
        ],
        Lang::Sql => &[
            "select", "from", "where", "insert", "into", "values", "update", "set", "delete",
            "create", "table", "join", "left", "right", "inner", "on", "group", "by", "order",
            "limit", "and", "or", "not", "null", "as", "having", "distinct", "count",
        ],
        Lang::Conf => &["true", "false"],
        Lang::Plain => &[],
    }
}

fn line_comment(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python | Lang::Shell | Lang::Conf => &["#"],
        Lang::Rust | Lang::CLike => &["//"],
        Lang::Sql => &["--"],
        Lang::Json | Lang::Plain => &[],
    }
}

/// Highlights `code` as `lang`; returns one span list per source line.
pub fn highlight(code: &str, lang: &str, theme: &Theme) -> Vec<Vec<Span<'static>>> {
    let lang = lang_of(lang);
    let mut state = State::Normal;
    code.lines()
        .map(|line| {
            let line = line.replace('\t', "    ");
            if lang == Lang::Plain {
                vec![Span::styled(line, theme.code)]
            } else {
                highlight_line(&line, lang, theme, &mut state)
            }
        })
        .collect()
}

/// What carries over from one line to the next: open triple-quoted strings and block comments.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    Triple(char),
    BlockComment,
}

fn highlight_line(line: &str, lang: Lang, theme: &Theme, state: &mut State) -> Vec<Span<'static>> {
    let chars: Vec<char> = line.chars().collect();
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut push = |text: String, style: Style| {
        if !text.is_empty() {
            out.push(Span::styled(text, style));
        }
    };
    let kw = keywords(lang);
    let lc = line_comment(lang);
    let mut i = 0;
    while i < chars.len() {
        match *state {
            State::Triple(q) => {
                let start = i;
                let mut end = None;
                while i < chars.len() {
                    if chars[i] == q && chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q)
                    {
                        end = Some(i + 3);
                        break;
                    }
                    i += 1;
                }
                match end {
                    Some(e) => {
                        push(chars[start..e].iter().collect(), theme.string);
                        i = e;
                        *state = State::Normal;
                    }
                    None => {
                        push(chars[start..].iter().collect(), theme.string);
                        i = chars.len();
                    }
                }
                continue;
            }
            State::BlockComment => {
                let start = i;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                if i < chars.len() {
                    i += 2;
                    *state = State::Normal;
                }
                push(chars[start..i].iter().collect(), theme.comment);
                continue;
            }
            State::Normal => {}
        }
        let c = chars[i];
        let rest: String = chars[i..].iter().take(3).collect();
        if lc.iter().any(|p| rest.starts_with(p)) {
            push(chars[i..].iter().collect(), theme.comment);
            break;
        }
        if matches!(lang, Lang::Rust | Lang::CLike) && rest.starts_with("/*") {
            *state = State::BlockComment;
            continue;
        }
        if lang == Lang::Python && (rest == "\"\"\"" || rest == "'''") {
            let start = i;
            i += 3;
            *state = State::Triple(c);
            // Scan the rest of this line for the closing quotes.
            let mut closed = false;
            while i < chars.len() {
                if chars[i] == c && chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c) {
                    i += 3;
                    closed = true;
                    break;
                }
                i += 1;
            }
            if closed {
                *state = State::Normal;
            }
            push(chars[start..i].iter().collect(), theme.string);
            continue;
        }
        if c == '"' || c == '\'' || (c == '`' && lang == Lang::CLike) {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            push(chars[start..i].iter().collect(), theme.string);
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            push(chars[start..i].iter().collect(), theme.number);
            continue;
        }
        if c.is_alphabetic() || c == '_' || (c == '$' && lang == Lang::Shell) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let is_kw = if lang == Lang::Sql {
                kw.contains(&word.to_ascii_lowercase().as_str())
            } else {
                kw.contains(&word.as_str())
            };
            let style = if is_kw {
                theme.keyword
            } else if word.starts_with('$') {
                theme.number
            } else if chars.get(i) == Some(&'(')
                || (lang == Lang::Rust && chars.get(i) == Some(&'!'))
                || (lang == Lang::Conf && start == 0)
            {
                theme.function
            } else {
                theme.code
            };
            push(word, style);
            continue;
        }
        let start = i;
        i += 1;
        while i < chars.len() && !chars[i].is_alphanumeric() && !"\"'`#_/-$".contains(chars[i]) {
            i += 1;
        }
        push(chars[start..i].iter().collect(), theme.code);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_tokens_get_roles() {
        let t = Theme::builtin_default();
        let lines = highlight(
            "def f(x):\n    return 'a' # note\n\"\"\"doc\nmore\"\"\" + 1",
            "python",
            &t,
        );
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0][0].content, "def");
        assert_eq!(lines[0][0].style, t.keyword);
        let l1 = &lines[1];
        assert!(l1.iter().any(|s| s.content == "'a'" && s.style == t.string));
        assert!(
            l1.iter()
                .any(|s| s.content == "# note" && s.style == t.comment)
        );
        assert_eq!(lines[2][0].style, t.string);
        assert_eq!(lines[3][0].content, "more\"\"\"");
        assert!(
            lines[3]
                .iter()
                .any(|s| s.content == "1" && s.style == t.number)
        );
    }

    #[test]
    fn unknown_language_is_plain_and_text_is_kept() {
        let t = Theme::builtin_default();
        let src = "x = \"unterminated\n\ttab";
        for lang in ["", "rust", "sh", "json", "sql", "toml"] {
            let lines = highlight(src, lang, &t);
            let text: Vec<String> = lines
                .iter()
                .map(|l| l.iter().map(|s| s.content.as_ref()).collect())
                .collect();
            assert_eq!(text, vec!["x = \"unterminated", "    tab"], "{lang}");
        }
    }
}
