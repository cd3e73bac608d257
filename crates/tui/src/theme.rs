//! Styles by role, loaded from the TOML themes in assets/themes.
//!
//! Panes never name a colour: they ask the theme for a role (user, assistant, stderr, ...), so a
//! theme file or NO_COLOR changes the whole screen at once. The `default` theme uses only the 16
//! ANSI colours, which the terminal's own palette defines.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const DEFAULT_THEME: &str = include_str!("../../../assets/themes/default.toml");
const DARK_THEME: &str = include_str!("../../../assets/themes/dark.toml");
const LIGHT_THEME: &str = include_str!("../../../assets/themes/light.toml");

/// Names of the themes built into the binary.
pub const BUILTIN_THEMES: &[&str] = &["default", "dark", "light"];

/// Every role a pane may ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub user: Style,
    pub assistant: Style,
    pub tool: Style,
    pub error: Style,
    pub warn: Style,
    pub ok: Style,
    pub dim: Style,
    pub accent: Style,
    pub heading: Style,
    pub code: Style,
    pub inline_code: Style,
    pub link: Style,
    pub quote: Style,
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub selection: Style,
    pub stdout: Style,
    pub stderr: Style,
    pub info: Style,
    pub keyword: Style,
    pub string: Style,
    pub number: Style,
    pub comment: Style,
    pub function: Style,
    pub gauge: Style,
    pub gauge_warn: Style,
    pub match_hl: Style,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    styles: BTreeMap<String, StyleSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    #[serde(default)]
    fg: Option<String>,
    #[serde(default)]
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

impl Theme {
    /// The built-in default theme (terminal palette only).
    pub fn builtin_default() -> Theme {
        // The embedded default theme is checked by a unit test, so parsing cannot fail; the
        // fallback keeps this total anyway.
        parse(DEFAULT_THEME, None).unwrap_or_else(|_| plain_theme("default"))
    }

    /// Loads a theme by built-in name or as a path to a TOML file. On failure returns the default
    /// theme and a one-line reason to show the user.
    pub fn load(name: &str, no_color: bool) -> (Theme, Option<String>) {
        let (theme, warning) = match Self::try_load(name) {
            Ok(t) => (t, None),
            Err(e) => (Self::builtin_default(), Some(e)),
        };
        (
            if no_color {
                theme.without_color()
            } else {
                theme
            },
            warning,
        )
    }

    fn try_load(name: &str) -> Result<Theme, String> {
        let base = Self::builtin_default();
        match name {
            "" | "default" => Ok(base),
            "dark" => parse(DARK_THEME, Some(&base)),
            "light" => parse(LIGHT_THEME, Some(&base)),
            path => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "theme {path:?}: not a built-in theme ({}) nor a readable file: {e}",
                        BUILTIN_THEMES.join(", ")
                    )
                })?;
                parse(&text, Some(&base)).map_err(|e| format!("theme {path:?}: {e}"))
            }
        }
    }

    /// The same theme with every colour removed (NO_COLOR): bold, reverse and underline stay, so
    /// focus and selection are still visible.
    pub fn without_color(mut self) -> Theme {
        for style in self.roles_mut() {
            *style = Style {
                fg: None,
                bg: None,
                underline_color: None,
                ..*style
            };
        }
        self
    }

    fn roles_mut(&mut self) -> [&mut Style; 29] {
        [
            &mut self.text,
            &mut self.user,
            &mut self.assistant,
            &mut self.tool,
            &mut self.error,
            &mut self.warn,
            &mut self.ok,
            &mut self.dim,
            &mut self.accent,
            &mut self.heading,
            &mut self.code,
            &mut self.inline_code,
            &mut self.link,
            &mut self.quote,
            &mut self.border,
            &mut self.border_focused,
            &mut self.title,
            &mut self.selection,
            &mut self.stdout,
            &mut self.stderr,
            &mut self.info,
            &mut self.keyword,
            &mut self.string,
            &mut self.number,
            &mut self.comment,
            &mut self.function,
            &mut self.gauge,
            &mut self.gauge_warn,
            &mut self.match_hl,
        ]
    }

    fn role_mut(&mut self, role: &str) -> Option<&mut Style> {
        Some(match role {
            "text" => &mut self.text,
            "user" => &mut self.user,
            "assistant" => &mut self.assistant,
            "tool" => &mut self.tool,
            "error" => &mut self.error,
            "warn" => &mut self.warn,
            "ok" => &mut self.ok,
            "dim" => &mut self.dim,
            "accent" => &mut self.accent,
            "heading" => &mut self.heading,
            "code" => &mut self.code,
            "inline_code" => &mut self.inline_code,
            "link" => &mut self.link,
            "quote" => &mut self.quote,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "title" => &mut self.title,
            "selection" => &mut self.selection,
            "stdout" => &mut self.stdout,
            "stderr" => &mut self.stderr,
            "info" => &mut self.info,
            "keyword" => &mut self.keyword,
            "string" => &mut self.string,
            "number" => &mut self.number,
            "comment" => &mut self.comment,
            "function" => &mut self.function,
            "gauge" => &mut self.gauge,
            "gauge_warn" => &mut self.gauge_warn,
            "match" => &mut self.match_hl,
            _ => return None,
        })
    }
}

fn plain_theme(name: &str) -> Theme {
    let d = Style::default();
    Theme {
        name: name.to_string(),
        text: d,
        user: d,
        assistant: d,
        tool: d,
        error: d,
        warn: d,
        ok: d,
        dim: d,
        accent: d,
        heading: d,
        code: d,
        inline_code: d,
        link: d,
        quote: d,
        border: d,
        border_focused: d,
        title: d,
        selection: d.add_modifier(Modifier::REVERSED),
        stdout: d,
        stderr: d,
        info: d,
        keyword: d,
        string: d,
        number: d,
        comment: d,
        function: d,
        gauge: d,
        gauge_warn: d,
        match_hl: d,
    }
}

fn parse(text: &str, base: Option<&Theme>) -> Result<Theme, String> {
    let file: ThemeFile = toml::from_str(text).map_err(|e| e.to_string().replace('\n', " "))?;
    let mut theme = base.cloned().unwrap_or_else(|| plain_theme("default"));
    if let Some(name) = file.name {
        theme.name = name;
    }
    for (role, spec) in file.styles {
        let style = spec_to_style(&spec).map_err(|e| format!("style {role:?}: {e}"))?;
        *theme
            .role_mut(&role)
            .ok_or_else(|| format!("unknown style role {role:?}"))? = style;
    }
    Ok(theme)
}

fn spec_to_style(spec: &StyleSpec) -> Result<Style, String> {
    let mut style = Style::default();
    if let Some(fg) = &spec.fg {
        style = style.fg(parse_color(fg)?);
    }
    if let Some(bg) = &spec.bg {
        style = style.bg(parse_color(bg)?);
    }
    for m in &spec.modifiers {
        style = style.add_modifier(match m.as_str() {
            "bold" => Modifier::BOLD,
            "dim" => Modifier::DIM,
            "italic" => Modifier::ITALIC,
            "underlined" | "underline" => Modifier::UNDERLINED,
            "reversed" | "reverse" => Modifier::REVERSED,
            "crossed_out" => Modifier::CROSSED_OUT,
            other => return Err(format!("unknown modifier {other:?}")),
        });
    }
    Ok(style)
}

fn parse_color(s: &str) -> Result<Color, String> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() == 6
            && let Ok(v) = u32::from_str_radix(hex, 16)
        {
            return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return Err(format!("bad hex colour {s:?}"));
    }
    if let Ok(i) = s.parse::<u8>() {
        return Ok(Color::Indexed(i));
    }
    Ok(
        match s.to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "reset" | "default" => Color::Reset,
            "black" => Color::Black,
            "red" => Color::Red,
            "green" => Color::Green,
            "yellow" => Color::Yellow,
            "blue" => Color::Blue,
            "magenta" => Color::Magenta,
            "cyan" => Color::Cyan,
            "gray" | "grey" => Color::Gray,
            "dark_gray" | "dark_grey" => Color::DarkGray,
            "light_red" => Color::LightRed,
            "light_green" => Color::LightGreen,
            "light_yellow" => Color::LightYellow,
            "light_blue" => Color::LightBlue,
            "light_magenta" => Color::LightMagenta,
            "light_cyan" => Color::LightCyan,
            "white" => Color::White,
            _ => return Err(format!("unknown colour {s:?}")),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        let base = Theme::builtin_default();
        assert!(parse(DEFAULT_THEME, None).is_ok());
        for t in [DARK_THEME, LIGHT_THEME] {
            parse(t, Some(&base)).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(base.user.fg, Some(Color::Cyan));
    }

    #[test]
    fn default_theme_uses_only_the_terminal_palette() {
        let mut t = Theme::builtin_default();
        for style in t.roles_mut() {
            for c in [style.fg, style.bg].into_iter().flatten() {
                assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{c:?}");
            }
        }
    }

    #[test]
    fn no_color_strips_colours_but_keeps_modifiers() {
        let (t, warn) = Theme::load("dark", true);
        assert!(warn.is_none());
        assert_eq!(t.user.fg, None);
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn bad_theme_falls_back_with_reason() {
        let (t, warn) = Theme::load("/nonexistent/theme.toml", false);
        assert_eq!(t.name, "default");
        assert!(warn.unwrap_or_default().contains("not a built-in theme"));
        assert!(parse("[styles]\nnope = {}", None).is_err());
        assert!(parse("[styles]\nuser = { fg = \"#zz0000\" }", None).is_err());
    }
}
